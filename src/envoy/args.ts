export interface EnvoyArgsOptions {
  readonly configPath: string;
  readonly drainTimeMs: number;
  readonly logLevel: string;
  readonly componentLogLevel?: string;
  readonly concurrency?: number;
  readonly platform: NodeJS.Platform;
}

/** Envoy's command line, as Go kuma-dp builds it. */
export function envoyArgs(options: EnvoyArgsOptions): string[] {
  const args = [
    '--config-path', options.configPath,
    '--drain-time-s', String(Math.ceil(options.drainTimeMs / 1000)),
    '--drain-strategy', 'immediate',
    '--disable-hot-restart',
    '--log-level', options.logLevel === 'warn' ? 'warning' : options.logLevel,
  ];
  if (options.componentLogLevel) args.push('--component-log-level', options.componentLogLevel);
  if (options.concurrency !== undefined && options.concurrency > 0) {
    args.push('--concurrency', String(options.concurrency));
  } else if (options.platform === 'linux') {
    // Without it Envoy starts a worker per host CPU even when its cgroup allows one.
    args.push('--cpuset-threads');
  }
  return args;
}
