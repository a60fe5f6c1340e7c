/** Variables Envoy and the app must not inherit: secrets, and systemd's channel, which belongs to the agent. */
const WITHHELD = ['KUMA_DATAPLANE_RUNTIME_TOKEN', 'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'];

export function childEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const copy = { ...env };
  for (const name of WITHHELD) delete copy[name];
  return copy;
}
