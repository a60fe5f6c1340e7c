import type { Agent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { BodyTooLarge, readBody } from '../http/body.js';
import { errorCode, request } from '../http/client.js';
import type { Logger } from '../logging/logger.js';
import type { BootstrapRequest } from './request.js';
import { InvalidBootstrapError, parseBootstrapResponse, type BootstrapResponse } from './response.js';

/** One deadline for each whole request, headers and body: a control plane that trickles cannot hold the agent. */
const REQUEST_TIMEOUT_MS = 10_000;
/** The most of an answer the agent reads: a real bootstrap is a few KiB. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
/** The most of a control plane's text an error quotes. */
const MAX_QUOTED_CHARS = 1024;

const NOT_FOUND_HINT =
  'Dataplane entity not found. If you are running on Universal please create a Dataplane entity on kuma-cp ' +
  'before starting kuma-dp or pass it to kuma-dp run --dataplane-file=/file.';

/** The bootstrap could not be had, and waiting will not change that. */
class BootstrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapError';
  }
}

export interface BootstrapClientOptions {
  readonly url: URL;
  readonly retryBackoffMs: number;
  readonly retryMaxDurationMs: number;
  readonly logger: Logger;
  /** TLS settings for https control planes (controlPlaneAgent()). */
  readonly agent?: Agent;
  readonly requestTimeoutMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  /** Classifies errors of a request that no retry can fix (e.g. an untrusted certificate). */
  readonly fatalNetworkError?: (error: Error) => string | undefined;
  /** Told of every request's result and how long it took (the agent's metrics). */
  readonly onAttempt?: (result: AttemptResult, ms: number) => void;
}

/** What one POST /bootstrap came to. */
export type AttemptResult = 'ok' | 'not_found' | 'server_error' | 'rejected' | 'invalid' | 'unreachable' | 'tls_error';

type Attempt = { readonly result: AttemptResult } & (
  | { readonly outcome: 'ok'; readonly response: BootstrapResponse }
  | { readonly outcome: 'retry'; readonly reason: string }
  | { readonly outcome: 'fatal'; readonly reason: string }
);

/** A control plane's text fit to quote in a log line: secrets it echoes blotted out, and short. */
function quote(text: string, secrets: readonly string[]): string {
  let quoted = text.trim();
  for (const secret of secrets) if (secret) quoted = quoted.replaceAll(secret, '[redacted]');
  return quoted.length > MAX_QUOTED_CHARS ? `${quoted.slice(0, MAX_QUOTED_CHARS)}…` : quoted;
}

/**
 * What one answer of the CP means, following Go kuma-dp's retry rules. `secrets` (the token) are
 * never quoted back, even when the control plane's text repeats them.
 */
function classifyAnswer(status: number, contentType: string | undefined, body: string, url: URL, secrets: readonly string[]): Attempt {
  if (status === 200) {
    try {
      return { outcome: 'ok', result: 'ok', response: parseBootstrapResponse(contentType, body) };
    } catch (error) {
      if (error instanceof InvalidBootstrapError) return { outcome: 'fatal', result: 'invalid', reason: error.message };
      throw error;
    }
  }
  const text = quote(body, secrets);
  if (status === 404 && text === '') return { outcome: 'retry', result: 'not_found', reason: NOT_FOUND_HINT };
  if (status === 404 && /page not found/i.test(text)) {
    return {
      outcome: 'fatal',
      result: 'rejected',
      reason:
        `${url.origin} answered "${text}": it is not kuma-cp's DP server. Point --cp-address at the DP server ` +
        '(port 5678 by default; the bootstrap server on 5682 for Kuma 0.x)',
    };
  }
  if (status >= 500) return { outcome: 'retry', result: 'server_error', reason: `control plane answered ${status}${text ? `: ${text}` : ''}` };
  return { outcome: 'fatal', result: 'rejected', reason: `Invalid request: ${text || `status ${status}`}` };
}

/**
 * Fetches the Envoy bootstrap, retrying what may heal (connection errors, 5xx, a Dataplane not yet
 * created) every backoff until the max duration, and failing at once on what will not.
 */
export async function fetchBootstrap(
  body: BootstrapRequest,
  options: BootstrapClientOptions,
  signal?: AbortSignal,
): Promise<BootstrapResponse> {
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? ((ms: number, s?: AbortSignal) => sleep(ms, undefined, { signal: s }));
  const url = new URL('/bootstrap', options.url);
  const deadline = now() + options.retryMaxDurationMs;
  const payload = JSON.stringify(body);
  const secrets = body.dataplaneToken ? [body.dataplaneToken] : [];
  for (let attempt = 1; ; attempt++) {
    const started = now();
    const result = await attemptOnce(url, payload, secrets, options, signal);
    options.onAttempt?.(result.result, now() - started);
    if (result.outcome === 'ok') return result.response;
    if (result.outcome === 'fatal') throw new BootstrapError(result.reason);
    if (now() + options.retryBackoffMs > deadline) {
      throw new BootstrapError(`gave up fetching the bootstrap from ${url.origin} after ${attempt} attempts: ${result.reason}`);
    }
    options.logger.warn(
      { event: 'bootstrap-retry', attempt, reason: result.reason, retryInMs: options.retryBackoffMs, cp: url.origin },
      'could not fetch the bootstrap, retrying',
    );
    await wait(options.retryBackoffMs, signal);
  }
}

async function attemptOnce(url: URL, payload: string, secrets: readonly string[], options: BootstrapClientOptions, signal?: AbortSignal): Promise<Attempt> {
  const timeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeout);
  try {
    const answer = await request(url, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: payload,
      agent: options.agent,
      signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
    });
    const contentType = answer.headers['content-type'];
    const text = await readBody(answer, MAX_ANSWER_BYTES);
    return classifyAnswer(answer.statusCode, Array.isArray(contentType) ? contentType[0] : contentType, text, url, secrets);
  } catch (error) {
    if (signal?.aborted) throw error;
    if (error instanceof BodyTooLarge) {
      return { outcome: 'fatal', result: 'invalid', reason: `the control plane's answer is larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB (a bootstrap is a few KiB): refusing it` };
    }
    if (deadline.aborted) return { outcome: 'retry', result: 'unreachable', reason: `no complete answer from ${url.origin} within ${timeout / 1000}s` };
    const fatal = options.fatalNetworkError?.(error as Error);
    if (fatal) return { outcome: 'fatal', result: 'tls_error', reason: fatal };
    return { outcome: 'retry', result: 'unreachable', reason: `cannot reach ${url.origin}: ${errorCode(error)}` };
  }
}
