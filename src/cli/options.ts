import type { Options } from 'yargs';
import type { AnySetting } from '../config/settings.js';
import type { UnsupportedSetting } from '../config/unsupported.js';

/** The yargs option for a setting: always text, so that every value goes through the setting's own parser. */
export function flagOption(spec: AnySetting): Options {
  const notes = [spec.env.length ? `env: ${spec.env.join(', ')}` : '', spec.default !== undefined ? `default: ${spec.default}` : '']
    .filter(Boolean)
    .join('; ');
  return {
    type: spec.kind === 'boolean' ? 'boolean' : 'string',
    ...(spec.kind === 'array' && { array: true }),
    describe: notes ? `${spec.describe} [${notes}]` : spec.describe,
    ...(spec.alias !== undefined && { alias: spec.alias }),
  };
}

export const PRECEDENCE = 'Flags win over environment variables, which win over defaults.';

/** A flag of Go kuma-dp this agent accepts but does not act on, listed apart in --help with why. */
export function unsupportedOption(spec: UnsupportedSetting): Options {
  return {
    type: spec.kind === 'boolean' ? 'boolean' : 'string',
    ...(spec.kind === 'array' && { array: true }),
    describe: `Ignored: ${spec.reason}`,
    group: "Go kuma-dp's flags this agent does not act on:",
  };
}

/** Whether the command line asks for help: `--help` among kuma-dp's own arguments, not an app's after `--`. */
export function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg.startsWith('--help='));
}
