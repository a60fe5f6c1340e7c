import type { Level } from 'pino';

const ENVOY_LEVEL = /\]\[(trace|debug|info|warning|error|critical)\]/;

/**
 * The level at which one of Envoy's lines is relayed. Envoy's own trace and debug lines stay at
 * info: the operator asked Envoy for them with --envoy-log-level, not with kuma-dp's --log-level.
 */
export function envoyLineLevel(line: string): Level {
  switch (ENVOY_LEVEL.exec(line)?.[1]) {
    case 'warning':
      return 'warn';
    case 'error':
    case 'critical':
      return 'error';
    default:
      return 'info';
  }
}
