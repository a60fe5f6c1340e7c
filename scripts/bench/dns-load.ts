// The bench's DNS client, in a process of its own: keeps `inFlight` queries for one name
// outstanding against 127.0.0.1:<port> for `seconds` after a warm-up, and prints
// {queries, seconds, p50Ms, p99Ms, lost} as JSON. A query unanswered for 200 ms counts as lost and
// is sent again, so that one dropped datagram does not stall its lane.
import dgram from 'node:dgram';
import packet from 'dns-packet';

const [portText, name, inFlightText, secondsText] = process.argv.slice(2);
const port = Number(portText);
const inFlight = Number(inFlightText ?? 8);
const seconds = Number(secondsText ?? 3);
const WARM_UP_MS = 500;
const LOST_MS = 200;

const queries = Array.from({ length: inFlight }, (_, lane) => packet.encode({ type: 'query', id: lane, flags: packet.RECURSION_DESIRED, questions: [{ type: 'A', name: name! }] }));
const sentAt = new Array<bigint>(inFlight).fill(0n);
const latencies: number[] = [];
let measuring = false;
let done = false;
let lost = 0;
const socket = dgram.createSocket('udp4');
const send = (lane: number) => {
  sentAt[lane] = process.hrtime.bigint();
  socket.send(queries[lane]!, port, '127.0.0.1');
};
socket.on('message', (answer) => {
  const lane = answer.readUInt16BE(0);
  if (lane >= inFlight || sentAt[lane] === 0n) return;
  if (measuring) latencies.push(Number(process.hrtime.bigint() - sentAt[lane]!) / 1e6);
  sentAt[lane] = 0n;
  if (!done) send(lane);
});
const watchdog = setInterval(() => {
  const now = process.hrtime.bigint();
  for (let lane = 0; lane < inFlight; lane++) {
    if (sentAt[lane] !== 0n && Number(now - sentAt[lane]!) / 1e6 > LOST_MS) {
      if (measuring) lost += 1;
      send(lane);
    }
  }
}, 50);
socket.bind(0, '127.0.0.1', () => {
  for (let lane = 0; lane < inFlight; lane++) send(lane);
  setTimeout(() => {
    measuring = true;
    setTimeout(() => {
      done = true;
      measuring = false;
      clearInterval(watchdog);
      socket.close();
      const sorted = latencies.sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
      process.stdout.write(`${JSON.stringify({ queries: sorted.length, seconds, p50Ms: at(0.5), p99Ms: at(0.99), lost })}\n`);
    }, seconds * 1000);
  }, WARM_UP_MS);
});
