import { isIP } from 'node:net';
import { parseDuration } from './duration.js';
import { UserError } from '../errors.js';
import { parseHttpUrl, parseNonEmpty } from './parse.js';
import { resolveSetting, type Setting } from './settings.js';

/** What `kuma-dp wait` needs, validated once. */
export interface WaitConfig {
  readonly url: URL;
  readonly unixSocket?: string;
  readonly timeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly checkFrequencyMs: number;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

// The readiness endpoint only ever listens on loopback: any other host is a typo or a probe of
// another machine's sidecar, which says nothing about this host's startup order.
function parseLoopbackUrl(raw: string, source: string): URL {
  const url = parseHttpUrl(raw, source);
  if (!isLoopback(url.hostname)) {
    throw new UserError(`invalid ${source} "${raw}": the host must be loopback (localhost, 127.0.0.1 or [::1]), not ${url.hostname}`);
  }
  return url;
}

function positiveDuration(raw: string, source: string): number {
  const ms = parseDuration(raw, source);
  if (ms <= 0) throw new UserError(`invalid ${source} "${raw}": must be longer than 0`);
  return ms;
}

function setting<T>(spec: Setting<T>): Setting<T> {
  return spec;
}

export const WAIT_SETTINGS = {
  url: setting({
    flag: 'url',
    env: [],
    describe: "URL of kuma-dp's readiness endpoint (loopback only)",
    default: 'http://localhost:9902/ready',
    parse: parseLoopbackUrl,
  }),
  unixSocket: setting({
    flag: 'unix-socket',
    env: [],
    describe: 'Reach the readiness endpoint through this unix socket instead of TCP',
    parse: parseNonEmpty,
  }),
  timeout: setting({
    flag: 'timeout',
    env: [],
    describe: 'Give up (exit 1) when not ready after this long',
    default: '180s',
    parse: positiveDuration,
  }),
  requestTimeout: setting({
    flag: 'request-timeout',
    env: [],
    describe: 'Time allowed for one readiness request',
    default: '500ms',
    parse: positiveDuration,
  }),
  checkFrequency: setting({
    flag: 'check-frequency',
    env: [],
    describe: 'Time between readiness requests',
    default: '1s',
    parse: positiveDuration,
  }),
} as const;

export function loadWaitConfig(flags: Readonly<Record<string, unknown>>): WaitConfig {
  const get = <T>(spec: Setting<T>): T | undefined => resolveSetting(spec, flags, {});
  const must = <T>(spec: Setting<T>): T => {
    const value = get(spec);
    if (value === undefined) throw new UserError(`missing --${spec.flag}`);
    return value;
  };
  return {
    url: must(WAIT_SETTINGS.url),
    unixSocket: get(WAIT_SETTINGS.unixSocket),
    timeoutMs: must(WAIT_SETTINGS.timeout),
    requestTimeoutMs: must(WAIT_SETTINGS.requestTimeout),
    checkFrequencyMs: must(WAIT_SETTINGS.checkFrequency),
  };
}
