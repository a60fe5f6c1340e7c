import { isIP } from 'node:net';
import type { TemplateVars } from '../bootstrap/template.js';
import { UserError } from '../errors.js';

/** Parsers for raw setting text. `source` names the flag or variable the text came from. */

export function parsePort(raw: string, source: string): number {
  const port = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || port < 1 || port > 65535) {
    throw new UserError(`invalid ${source} "${raw}": expected a port number from 1 to 65535`);
  }
  return port;
}

/** A port where 0 means "off". */
export function parsePortOrZero(raw: string, source: string): number {
  return raw.trim() === '0' ? 0 : parsePort(raw, source);
}

export function parseCount(raw: string, source: string): number {
  return countUpTo(Number.MAX_SAFE_INTEGER)(raw, source);
}

/** A whole number from 0 to max: past it, digits would turn into a float such as 1e20. */
export function countUpTo(max: number) {
  return (raw: string, source: string): number => {
    const value = Number(raw.trim());
    if (!/^\d+$/.test(raw.trim()) || value > max) {
      throw new UserError(`invalid ${source} "${raw}": expected a whole number from 0 to ${max}`);
    }
    return value;
  };
}

export function parseBoolean(raw: string, source: string): boolean {
  const text = raw.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(text)) return true;
  if (['false', '0', 'no', ''].includes(text)) return false;
  throw new UserError(`invalid ${source} "${raw}": expected true or false`);
}

export function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string, source: string): T => {
    const text = raw.trim() as T;
    if (!values.includes(text)) {
      throw new UserError(`invalid ${source} "${raw}": expected one of ${values.join(', ')}`);
    }
    return text;
  };
}

export function parseNonEmpty(raw: string, source: string): string {
  const text = raw.trim();
  if (text === '') throw new UserError(`invalid ${source}: must not be empty`);
  return text;
}

export function parseIpAddress(raw: string, source: string): string {
  const text = raw.trim();
  if (isIP(text) === 0) throw new UserError(`invalid ${source} "${raw}": expected an IPv4 or IPv6 address`);
  return text;
}

export function parseHttpUrl(raw: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new UserError(`invalid ${source} "${raw}": not a URL (expected e.g. https://kuma-cp:5678)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`invalid ${source} "${raw}": scheme must be http or https, not ${url.protocol.slice(0, -1)}`);
  }
  return url;
}

const TEMPLATE_VAR_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;


/** `-v key=value`, repeated. The value is kept as given: a template may want leading spaces. */
export function parseTemplateVars(raws: readonly string[], source: string): TemplateVars {
  const vars: Record<string, string> = {};
  for (const raw of raws) {
    const eq = raw.indexOf('=');
    const key = eq < 0 ? '' : raw.slice(0, eq).trim();
    if (!TEMPLATE_VAR_KEY.test(key)) throw new UserError(`invalid ${source} "${raw}": expected key=value, e.g. address=10.0.0.7`);
    vars[key] = raw.slice(eq + 1);
  }
  return vars;
}
