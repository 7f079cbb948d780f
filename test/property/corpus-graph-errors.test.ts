/**
 * Every Graph error body in the shared corpus (written by other people: Meta's docs, other libraries' fixtures,
 * bodies pasted into issues), served by a real HTTP server on 127.0.0.1 with the status index.json gives
 * (null → 400, what Graph returns for nearly all of them). The client must classify each as the index says,
 * never throw, and the consumer must retry the transient ones and drop the permanent ones.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GraphClient, graphClient } from '../../lib/meta/graph/client.ts';
import { abortKey, memoryLedger } from '../../lib/platform/ledger.ts';
import { encodeStep, groupIdOf } from '../../lib/queue/codec.ts';
import { processBatch } from '../../lib/sender/consumer.ts';
import { CORPUS_ENTRIES, corpusFile, corpusIndex, corpusSuiteTitle, hasCorpus } from '../support/corpus.ts';
import { queuedStep, senderTuning } from '../support/factories.ts';
import { memoryTelemetry } from '../support/telemetry.ts';

const entries = corpusIndex().graph_errors;

const TOKEN = 'EAAcorpusPageToken0123456789';
const SECRET = 'corpus-app-secret-0123';

describe.skipIf(!hasCorpus)(corpusSuiteTitle('Graph error corpus'), () => {
  let current: { status: number; body: Buffer } = { status: 400, body: Buffer.from('{}') };
  const paths: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    paths.push(new URL(req.url ?? '', 'http://x').pathname);
    req.resume();
    req.on('end', () => {
      res.writeHead(current.status, { 'content-type': 'application/json' });
      res.end(current.body);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  let graph: GraphClient;
  const sqsMock = mockClient(SQSClient);
  const sqs = new SQSClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    graph = graphClient({
      baseUrl: `http://127.0.0.1:${port}`,
      version: 'v25.0',
      accessToken: TOKEN,
      appSecret: SECRET,
      timeoutMs: 5000,
    });
  });
  afterAll(async () => {
    await graph.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    sqsMock.reset();
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  });

  it('has as many graph-error entries as CORPUS_ENTRIES counts, each matching its recorded sha256', () => {
    expect(entries.length).toBe(CORPUS_ENTRIES.graph_errors);
    for (const entry of entries) {
      const bytes = corpusFile(entry.file);
      expect(createHash('sha256').update(bytes).digest('hex'), entry.file).toBe(entry.sha256);
    }
  });

  for (const entry of entries) {
    const status = entry.http_status ?? 400;
    const expected = entry.retry ? 'transient' : 'permanent';

    it(`${entry.file} (HTTP ${status}) → ${expected}, never throwing`, async () => {
      current = { status, body: corpusFile(entry.file) };
      paths.length = 0;
      const result = await graph.sendAction({
        pageId: '',
        psid: 'PSID1',
        action: { sender_action: 'typing_on' },
      });
      expect(paths).toEqual(['/v25.0/me/messages']);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.kind).toBe(expected);
      expect(result.status).toBe(status);
      expect(result.code).toBe(entry.code);
      if (entry.error_subcode) expect(result.subcode).toBe(entry.error_subcode);
      expect(result.reason.length).toBeGreaterThan(0);
      expect(Boolean(result.tokenInvalid)).toBe(entry.code === 190 || entry.code === 2500);
      if (entry.code === 551) expect(result.recipientUnreachable).toBe(true);
      expect(JSON.stringify(result)).not.toContain(TOKEN);
    });

    it(`${entry.file}: the sender ${entry.retry ? 'retries it with backoff' : 'drops the sequence without retrying'}`, async () => {
      current = { status, body: corpusFile(entry.file) };
      paths.length = 0;
      const ledger = memoryLedger();
      const telemetry = memoryTelemetry();
      const now = 1_700_000_000_000;
      const step = queuedStep({
        pageId: 'PAGE1',
        psid: 'PSID1',
        sequenceId: 'm_corpus',
        index: 2,
        count: 4,
        plannedAt: now,
        dueAt: now,
      });
      const res = await processBatch(
        [
          {
            messageId: 'one',
            receiptHandle: 'rh-one',
            body: encodeStep(step),
            attributes: {
              MessageGroupId: groupIdOf('PAGE1', 'PSID1'),
              ApproximateReceiveCount: '3',
              ApproximateFirstReceiveTimestamp: String(now),
            },
          },
        ],
        {
          graph,
          sqs,
          queueUrl: 'http://127.0.0.1:1/000000000000/steps.fifo',
          ledger,
          now: () => now,
          sleep: async () => {},
          telemetry,
          random: () => 0.5,
          tuning: senderTuning,
        },
      );
      const aborted = await ledger.has(abortKey(groupIdOf('PAGE1', 'PSID1'), 'm_corpus'));
      if (entry.retry) {
        expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'one' }]);
        expect(
          sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input.VisibilityTimeout,
        ).toBeGreaterThan(0);
        expect(aborted).toBe(false);
        expect(paths).toHaveLength(1);
      } else {
        expect(res.batchItemFailures).toEqual([]);
        expect(aborted).toBe(true);
        // one attempt, plus at most the best-effort typing_off: the same request is never retried
        expect(paths.length).toBeLessThanOrEqual(2);
        const logged = telemetry.logs.find((l) => l.level === 'error');
        expect(logged?.attributes.code).toBe(entry.code);
      }
      expect(JSON.stringify(telemetry.logs)).not.toContain(TOKEN);
    });
  }
});
