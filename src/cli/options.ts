import type { Options } from 'yargs';
import type { AnySetting } from '../config/settings.js';

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
