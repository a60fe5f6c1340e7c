import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import { UserError } from '../errors.js';
import { RotatingFile, type RotationPolicy } from './rotating-file.js';

export type { Logger };

export interface LoggerOptions {
  readonly level: string;
  /** Fields on every line, e.g. mesh and name. */
  readonly base: Record<string, unknown>;
  /** Human-readable lines instead of JSON; chosen when stderr is a terminal. */
  readonly pretty: boolean;
  readonly fd?: number;
  /** `--log-output-path`: JSON lines into this rotated file instead of stderr. */
  readonly file?: { readonly path: string } & RotationPolicy;
}

function openLogFile(file: string, policy: RotationPolicy): RotatingFile {
  try {
    return new RotatingFile(file, policy);
  } catch (error) {
    throw new UserError(`cannot open --log-output-path ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/**
 * pino writing synchronously to stderr: an agent that exits right after logging why must not
 * lose that line, and Envoy's relayed lines must not interleave with ours mid-line.
 */
export function createLogger(options: LoggerOptions): Logger {
  const fd = options.fd ?? 2;
  const level = options.level === 'off' ? 'silent' : options.level;
  const settings = { level, base: options.base, timestamp: pino.stdTimeFunctions.isoTime };
  if (options.file) return pino(settings, openLogFile(options.file.path, options.file));
  if (options.pretty) {
    // Loaded only for terminals, so that JSON runs (systemd, containers) do not pay for it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(settings, pretty({ destination: fd, sync: true, ignore: 'mesh,name' }));
  }
  return pino(settings, pino.destination({ dest: fd, sync: true }));
}
