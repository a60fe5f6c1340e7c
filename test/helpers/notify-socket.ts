import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import { tempDir, waitUntil } from './agent.js';

// A real AF_UNIX datagram socket, as systemd's NOTIFY_SOCKET is: Node cannot open one, python3
// can. Each datagram becomes one line, its newlines turned into '|'.
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('bound', flush=True)
with open(sys.argv[2], 'a', buffering=1) as out:
    while True:
        out.write(s.recv(65536).decode().replace('\\n', '|') + '\\n')
`;

export interface NotifySocket {
  readonly path: string;
  /** Every datagram so far, as its assignments; systemd-notify's BARRIER=1 handshakes left out. */
  messages(): string[][];
  close(): void;
}

export async function startNotifySocket(): Promise<NotifySocket> {
  const dir = tempDir('kuma-dp-notify-');
  const socketPath = path.join(dir, 'notify.sock');
  const out = path.join(dir, 'datagrams.log');
  const child = spawn('python3', ['-c', RECEIVER, socketPath, out], { stdio: ['ignore', 'pipe', 'inherit'] });
  const close = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  after(close);
  await waitUntil(() => existsSync(socketPath), 5000, 'the notify socket to be bound');
  return {
    path: socketPath,
    messages: () =>
      (existsSync(out) ? readFileSync(out, 'utf8') : '')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('|'))
        .filter((message) => !(message.length === 1 && message[0] === 'BARRIER=1')),
    close,
  };
}
