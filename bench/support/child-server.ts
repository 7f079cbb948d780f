/**
 * A Graph Send API stand-in for benches, run in its own process so its CPU does not compete with what is
 * measured. Listens on 127.0.0.1 port 0, prints `{"port":N}`, answers every POST with a Send API success
 * body, exits when stdin closes.
 *
 * With `--record` it also keeps every call — arrival time (epoch ms with sub-ms precision, the same clock
 * as Date.now() in other processes), recipient and action — served by `GET /__calls` (and cleared).
 */
import { createServer } from 'node:http';

/** `status`: what the strict Graph fake answered (local/graph-fake.ts ServedCall); the bare stand-in answers 200. */
export type RecordedCall = { at: number; psid: string; kind: string; text?: string; status?: number };

const record = process.argv.includes('--record');
const calls: RecordedCall[] = [];
const epochNow = () => performance.timeOrigin + performance.now();

const summarise = (raw: string, at: number): RecordedCall => {
  try {
    const body = JSON.parse(raw) as {
      recipient?: { id?: string };
      sender_action?: string;
      message?: { text?: string };
    };
    const psid = body.recipient?.id ?? '';
    if (body.message)
      return { at, psid, kind: 'message', ...(body.message.text && { text: body.message.text }) };
    return { at, psid, kind: body.sender_action ?? 'unknown' };
  } catch {
    return { at, psid: '', kind: 'unparsable' };
  }
};

let counter = 0;
const server = createServer((req, res) => {
  const at = epochNow();
  if (req.method === 'GET' && req.url === '/__calls') {
    const body = JSON.stringify(calls.splice(0));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    counter++;
    if (record) calls.push(summarise(Buffer.concat(chunks).toString('utf8'), at));
    const body = JSON.stringify({ recipient_id: '7712384950193847', message_id: `m_bench_${counter}` });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => {
  server.closeAllConnections();
  server.close();
});
