// The baseline of figure 9: a plain Node copy of a file into a TCP collector, in its own process
// as the streamer is. Prints the CPU time the copy took, as JSON, once the kernel has every byte.
import { createReadStream } from 'node:fs';
import net from 'node:net';

const [file, port] = process.argv.slice(2);
const before = process.cpuUsage();
const socket = net.connect(Number(port), '127.0.0.1');
createReadStream(file!).pipe(socket);
socket.once('finish', () => {
  const used = process.cpuUsage(before);
  process.stdout.write(`${JSON.stringify({ cpuMs: (used.user + used.system) / 1000 })}\n`);
  socket.destroy();
});
