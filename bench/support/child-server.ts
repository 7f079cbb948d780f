/**
 * A minimal Graph Send API stand-in for throughput benches, run in its own process so the server's CPU
 * does not compete with the client being measured inside the bench process. Listens on 127.0.0.1 port 0,
 * prints `{"port":N}` on stdout, answers every POST with a Send API success body, exits when stdin closes.
 */
import { createServer } from 'node:http';

let counter = 0;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    counter++;
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
