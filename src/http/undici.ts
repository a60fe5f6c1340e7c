// The part of undici the agent uses: Agent and request(). undici's index loads all of undici
// (fetch, WebSocket, caches, mocks, interceptors), and its cookie module touches
// globalThis.Headers, which makes Node load its own bundled copy of undici too, with a second
// llhttp WebAssembly module. Loading only these modules (undici has no `exports` map; see
// undici-modules.d.ts) took that out of every agent's start and resident memory (README, Performance).
import type { Dispatcher } from 'undici';
import Agent from 'undici/lib/dispatcher/agent.js';
import dispatchRequest from 'undici/lib/api/api-request.js';
import { getGlobalDispatcher } from 'undici/lib/global.js';

export { Agent };
export type { Dispatcher };

export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  readonly method?: Dispatcher.HttpMethod;
  /** Without one, undici's global dispatcher, as undici's own request() does. */
  readonly dispatcher?: Dispatcher;
};

/** undici's request(url, options). */
export function request(url: string | URL, options: RequestOptions = {}): Promise<Dispatcher.ResponseData> {
  const { dispatcher = getGlobalDispatcher(), method = 'GET', ...rest } = options;
  const target = new URL(url);
  return dispatchRequest.call(dispatcher, { ...rest, method, origin: target.origin, path: `${target.pathname}${target.search}` });
}
