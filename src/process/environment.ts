/**
 * Variables Envoy and the app must not inherit: the token and where it is kept, and systemd's
 * channel, which belongs to the agent.
 */
const WITHHELD = ['KUMA_DATAPLANE_RUNTIME_TOKEN', 'KUMA_DATAPLANE_RUNTIME_TOKEN_PATH', 'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'];

export function childEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const copy = { ...env };
  for (const name of WITHHELD) delete copy[name];
  return copy;
}
