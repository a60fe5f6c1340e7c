import { readBody } from '../http/body.js';
import { errorCode, keepAliveAgent, request } from '../http/client.js';

/** A readiness endpoint says READY or NOT_READY; the message quotes its first 100 characters. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface ProbeResult {
  readonly ready: boolean;
  /** What the endpoint said, for the message when waiting fails: "503 NOT_READY", "ECONNREFUSED". */
  readonly answer: string;
}

export type Probe = () => Promise<ProbeResult>;

/** One GET of a readiness endpoint; 200 is ready, anything else (or no answer) is not. */
export function httpProbe(options: { readonly url: URL; readonly unixSocket?: string; readonly requestTimeoutMs: number }): { probe: Probe; close(): Promise<void> } {
  const agent = keepAliveAgent({ maxSockets: 1 });
  const probe: Probe = async () => {
    try {
      const answer = await request(options.url, {
        agent,
        ...(options.unixSocket !== undefined && { socketPath: options.unixSocket }),
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
      const body = (await readBody(answer, MAX_ANSWER_BYTES)).trim().slice(0, 100);
      return { ready: answer.statusCode === 200, answer: `${answer.statusCode}${body ? ` ${body}` : ''}` };
    } catch (error) {
      return { ready: false, answer: (error as Error).name === 'TimeoutError' ? 'no answer in time' : errorCode(error) };
    }
  };
  return { probe, close: async () => agent.destroy() };
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
