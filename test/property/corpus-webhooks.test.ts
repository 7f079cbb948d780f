/**
 * Every real webhook body of the shared corpus, signed over its exact bytes, through the Lambda handler with
 * the real prelude planner and producer and a mocked SQS, then the responder side (turns, the bundled
 * responder, the real pacing) on what reached the responder queue (see shared/corpus/README.md).
 */
import { createHash } from 'node:crypto';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/webhook.ts';
import { defaultResponder } from '../../lib/bots/responder.ts';
import { loadPlanConfig } from '../../lib/pacing/config.ts';
import { type Ledger, memoryLedger } from '../../lib/platform/ledger.ts';
import { decodeStep, type QueuedStep } from '../../lib/queue/codec.ts';
import type { InboundEvent } from '../../lib/queue/inbound.ts';
import { decodeInbound, type QueuedInbound } from '../../lib/queue/inbound-codec.ts';
import type { SequenceToEnqueue } from '../../lib/queue/producer.ts';
import { runTurn } from '../../lib/responder/turn-runner.ts';
import { postEventBase64 } from '../../local/meta.ts';
import { CORPUS_ENTRIES, corpusFile, corpusIndex, corpusSuiteTitle, hasCorpus } from '../support/corpus.ts';
import { type HmacAlgorithm, hubSignature } from '../support/signing.ts';
import { memoryTelemetry, metricTotal } from '../support/telemetry.ts';

const index = corpusIndex().webhooks;

const SECRET = 'corpus-test-app-secret-3b9f';

/** Instagram corpus bodies the bundled rules answer (text, an ice-breaker postback, attachments). */
const INSTAGRAM_ANSWERED = new Set([
  'webhooks/instagram-text.json',
  'webhooks/instagram-icebreaker-postback.json',
  'webhooks/instagram-like-heart-no-payload.json',
  'webhooks/instagram-story-mention.json',
]);
const env = {
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ellipsis-steps.fifo',
  RESPONDER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ellipsis-responder.fifo',
  META_APP_SECRET: SECRET,
  META_VERIFY_TOKEN: 'corpus-verify-token',
  PLAN_TIME_SCALE: '0.01',
};

const sqsMock = mockClient(SQSClient);
const telemetry = memoryTelemetry();
/**
 * Answered events, forgotten before each test: corpus files from one source reuse the same sample mids,
 * and each file is judged as the first delivery of its events (re-deliveries are tested explicitly).
 */
let answered: Ledger = memoryLedger();
const handler = makeHandler(env, {
  sqs: new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
  telemetry,
  now: () => 1_700_000_000_000,
  sleep: async () => {},
  ledger: { has: (key) => answered.has(key), record: (key) => answered.record(key) },
});

const hmac = (algorithm: HmacAlgorithm, body: Uint8Array, key = SECRET) => hubSignature(body, key, algorithm);

/** Sends the bytes as API Gateway would: base64, so not even a UTF-8 round trip can touch them. */
const post = (body: Uint8Array, headers: Record<string, string>) => handler(postEventBase64(body, headers));

/** The SendMessageBatch calls the webhook made to one queue (a body's entries are packed ten to a call). */
const batchCallsTo = (queueUrl: string) =>
  sqsMock.commandCalls(SendMessageBatchCommand).filter((c) => c.args[0].input.QueueUrl === queueUrl);

const preludeSteps = (): QueuedStep[] =>
  batchCallsTo(env.QUEUE_URL)
    .flatMap((c) => c.args[0].input.Entries ?? [])
    .map((e) => {
      const decoded = decodeStep(e.MessageBody ?? '');
      if (!decoded.ok) throw new Error(`undecodable queued body: ${decoded.reason}`);
      return decoded.step;
    });

/** Mids of echoes and the senders of standby items in a body: none of them may ever be answered. */
const neverAnswer = (json: unknown): { echoMids: string[]; standbySenders: string[] } => {
  const echoMids: string[] = [];
  const standbySenders: string[] = [];
  const entries = (json as { entry?: unknown }).entry;
  for (const entry of Array.isArray(entries) ? entries : []) {
    const { messaging, standby } = entry as { messaging?: unknown; standby?: unknown };
    for (const item of Array.isArray(messaging) ? messaging : []) {
      const m = (item as { message?: { is_echo?: unknown; mid?: unknown } }).message;
      if (m?.is_echo === true && typeof m.mid === 'string') echoMids.push(m.mid);
    }
    for (const item of Array.isArray(standby) ? standby : []) {
      const id = (item as { sender?: { id?: unknown } }).sender?.id;
      if (id !== undefined) standbySenders.push(String(id));
    }
  }
  return { echoMids, standbySenders };
};

/** What the webhook put on the responder queue, in order. */
const inboundQueued = (): QueuedInbound[] =>
  [
    ...batchCallsTo(env.RESPONDER_QUEUE_URL).flatMap((c) => c.args[0].input.Entries ?? []),
    // A person's echoed words go alone, as context the responder never answers (lib/webhook/takeover.ts).
    ...sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input),
  ].map((e) => {
    const decoded = decodeInbound(e.MessageBody ?? '');
    if (!decoded.ok) throw new Error(`undecodable inbound body: ${decoded.reason}`);
    return decoded.inbound;
  });

/**
 * The responder function's side, as SQS FIFO would hand it the queued events: one turn per user (their
 * waiting messages together), the bundled responder, the real pacing. Returns every step it enqueued and
 * the inbound events answered — one answer may cover several messages of a turn (issue #12, bursts).
 */
const respond = async (inbounds: readonly QueuedInbound[]) => {
  const turns = new Map<string, QueuedInbound[]>();
  for (const i of inbounds) {
    const key = `${i.event.pageId}:${i.event.psid}`;
    turns.set(key, [...(turns.get(key) ?? []), i]);
  }
  const steps: SequenceToEnqueue[] = [];
  const answered: InboundEvent[] = [];
  for (const turn of turns.values()) {
    const outcome = await runTurn(
      turn,
      { attempt: 1, deadlineAt: Number.POSITIVE_INFINITY },
      {
        responder: defaultResponder,
        enqueue: async (seq) => {
          steps.push(seq);
        },
        planConfig: loadPlanConfig(env),
        now: () => 1_700_000_000_000,
        sleep: async () => {},
        telemetry: memoryTelemetry(),
      },
    );
    if (outcome.kind === 'answered') answered.push(...turn.map((t) => t.event));
  }
  return { steps, answered };
};

beforeEach(() => {
  answered = memoryLedger();
  telemetry.metrics.length = 0;
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: SendMessageBatchRequestEntry[] }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `id-${e.Id}`, MD5OfMessageBody: 'x' })),
  }));
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'id-inbound' });
});

describe.skipIf(!hasCorpus)(corpusSuiteTitle('corpus webhooks through the handler'), () => {
  it('covers every file of the corpus, as many as CORPUS_ENTRIES counts when it is absent', () => {
    expect(index.length).toBe(CORPUS_ENTRIES.webhooks);
  });

  it.each(index.map((e) => [e.file, e] as const))('%s', async (_file, entry) => {
    const body = corpusFile(entry.file);
    expect(createHash('sha256').update(body).digest('hex')).toBe(entry.sha256);

    const res = await post(body, {
      'x-hub-signature-256': hmac('sha256', body),
      'x-hub-signature': hmac('sha1', body),
    });
    const status = res.statusCode ?? 0;
    // 2xx; a 4xx only where the corpus tolerates it (bodies that are not a Messenger page webhook).
    const tolerates4xx = /ignore/.test(entry.expected);
    expect(
      status < 300 || (tolerates4xx && status >= 400 && status < 500),
      `HTTP ${status}: ${res.body}`,
    ).toBe(true);

    const inbounds = inboundQueued();
    const { steps, answered: replied } = await respond(inbounds);
    expect(replied.length).toBeGreaterThanOrEqual(entry.min_replies);
    expect(replied.length).toBeLessThanOrEqual(entry.max_replies);
    // As few SendMessageBatch calls as FIFO allows: ten entries to a call, per queue, whatever the users.
    expect(batchCallsTo(env.QUEUE_URL)).toHaveLength(Math.ceil(preludeSteps().length / 10));
    const answerable = inbounds.filter((i) => i.author !== 'person').length;
    expect(batchCallsTo(env.RESPONDER_QUEUE_URL)).toHaveLength(Math.ceil(answerable / 10));
    // Instagram is a channel (lib/meta/instagram/inbound.ts): its bodies are read, never 4xx'd, and
    // the ones the bundled responder answers get Instagram steps.
    if (entry.expected.includes('instagram')) {
      expect(status).toBe(200);
      expect(replied.length).toBe(INSTAGRAM_ANSWERED.has(entry.file) ? 1 : 0);
      for (const s of [...preludeSteps(), ...steps]) expect(s.channel).toBe('instagram');
    }

    const { echoMids, standbySenders } = neverAnswer(JSON.parse(body.toString('utf8')));
    for (const s of [...preludeSteps(), ...steps]) {
      expect(echoMids).not.toContain(s.sequenceId.split('~')[0]);
      expect(standbySenders).not.toContain(s.psid);
      expect(s.psid).not.toBe(s.pageId);
    }

    // Meta re-delivers the same body (after a lost 200, or past SQS's 5-minute dedup window): no second reply.
    const again = await post(body, { 'x-hub-signature-256': hmac('sha256', body) });
    expect(again.statusCode).toBe(status);
    expect(inboundQueued()).toHaveLength(inbounds.length);
    expect(metricTotal(telemetry.metrics, 'DuplicateEventsDropped')).toBe(inbounds.length);
  });

  it('still answers a good request after the whole corpus went through the same handler', async () => {
    const body = corpusFile('webhooks/msg-text-bottender.json');
    expect((await post(body, { 'x-hub-signature-256': hmac('sha256', body) })).statusCode).toBe(200);
    expect(inboundQueued()).toHaveLength(1);
    expect((await respond(inboundQueued())).answered).toHaveLength(1);
  });

  it.each(index.map((e) => [e.file] as const))(
    '%s: wrong secret, flipped byte, missing header and sha1-only are rejected with zero enqueues',
    async (file) => {
      const body = corpusFile(file);
      const flipped = Buffer.from(body);
      const at = Math.floor(flipped.length / 2);
      flipped[at] = (flipped[at] ?? 0) ^ 0x01;
      const attempts: [Uint8Array, Record<string, string>][] = [
        [body, { 'x-hub-signature-256': hmac('sha256', body, `${SECRET}-wrong`) }],
        [flipped, { 'x-hub-signature-256': hmac('sha256', body) }],
        [body, {}],
        [body, { 'x-hub-signature': hmac('sha1', body) }],
      ];
      for (const [bytes, headers] of attempts) {
        const res = await post(bytes, headers);
        expect([401, 403]).toContain(res.statusCode);
      }
      expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
      expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    },
  );
});
