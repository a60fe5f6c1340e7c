import { Agent, request } from '../http/undici.js';

export interface ProbeResult {
  readonly ready: boolean;
  /** What the endpoint said, for the message when waiting fails: "503 NOT_READY", "ECONNREFUSED". */
  readonly answer: string;
}

export type Probe = () => Promise<ProbeResult>;

/** One GET of a readiness endpoint; 200 is ready, anything else (or no answer) is not. */
export function httpProbe(options: { readonly url: URL; readonly unixSocket?: string; readonly requestTimeoutMs: number }): { probe: Probe; close(): Promise<void> } {
  const dispatcher = new Agent({
    connections: 1,
    connect: { timeout: options.requestTimeoutMs, ...(options.unixSocket !== undefined && { socketPath: options.unixSocket }) },
  });
  const probe: Probe = async () => {
    try {
      const answer = await request(options.url, {
        dispatcher,
        headersTimeout: options.requestTimeoutMs,
        bodyTimeout: options.requestTimeoutMs,
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
      const body = (await answer.body.text()).trim().slice(0, 100);
      return { ready: answer.statusCode === 200, answer: `${answer.statusCode}${body ? ` ${body}` : ''}` };
    } catch (error) {
      const { code, name, message } = error as NodeJS.ErrnoException;
      return { ready: false, answer: name === 'TimeoutError' ? 'no answer in time' : (code ?? message) };
    }
  };
  return { probe, close: () => dispatcher.close() };
}

export interface WaitClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export type WaitOutcome = { readonly ready: true } | { readonly ready: false; readonly last: string };

/** Probes every checkFrequencyMs until ready or until timeoutMs has passed since the start. */
export async function waitUntilReady(options: {
  readonly probe: Probe;
  readonly timeoutMs: number;
  readonly checkFrequencyMs: number;
  readonly clock: WaitClock;
}): Promise<WaitOutcome> {
  const { clock } = options;
  const deadline = clock.now() + options.timeoutMs;
  for (;;) {
    const result = await options.probe();
    if (result.ready) return { ready: true };
    const left = deadline - clock.now();
    if (left <= 0) return { ready: false, last: result.answer };
    await clock.sleep(Math.min(options.checkFrequencyMs, left));
  }
}
