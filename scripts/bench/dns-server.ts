// One DNS server under the bench's load, in a process of its own: `proxy <name> <ip>` is the
// agent's DNS proxy with one mesh name; `baseline <hex>` is the least a Node UDP server can do,
// sending back the given answer bytes with the query's id. Prints the port it listens on.
import dgram from 'node:dgram';
import pino from 'pino';
import { createDnsProxy } from '../../src/dns/proxy.js';
import { realClock } from '../../src/runtime/clock.js';

const [role, first, second] = process.argv.slice(2);
if (role === 'proxy' && first && second) {
  const proxy = createDnsProxy({ addresses: [{ host: '127.0.0.1', port: 0 }], clock: realClock });
  await proxy.listen(pino({ level: 'silent' }));
  proxy.member('bench/dataplane').update({ ttl: 30, records: [{ name: first, ips: [second] }] });
  process.stdout.write(`${proxy.listening[0]!.port}\n`);
} else if (role === 'baseline' && first) {
  const answer = Buffer.from(first, 'hex');
  const socket = dgram.createSocket('udp4');
  socket.on('message', (query, from) => {
    const reply = Buffer.from(answer);
    query.copy(reply, 0, 0, 2);
    socket.send(reply, from.port, from.address);
  });
  socket.bind(0, '127.0.0.1', () => process.stdout.write(`${socket.address().port}\n`));
} else {
  process.stderr.write('usage: dns-server proxy <name> <ip> | baseline <answer hex>\n');
  process.exit(2);
}
