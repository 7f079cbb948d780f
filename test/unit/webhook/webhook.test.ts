import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHandler, toWebhookRequest } from '../../../functions/webhook.ts';
import { loadPlanConfig } from '../../../lib/pacing/config.ts';
import { planPrelude } from '../../../lib/pacing/plan.ts';
import {
  eventKey,
  type Ledger,
  memoryLedger,
  STATE_TABLE_KEY,
  STATE_TABLE_TTL_ATTRIBUTE,
} from '../../../lib/platform/ledger.ts';
import { userLabel } from '../../../lib/platform/telemetry.ts';
import { decodeStep } from '../../../lib/queue/codec.ts';
import type { InboundEvent } from '../../../lib/queue/inbound.ts';
import { decodeInbound } from '../../../lib/queue/inbound-codec.ts';
import type { SequenceToEnqueue } from '../../../lib/queue/producer.ts';
import type { Step } from '../../../lib/queue/step.ts';
import {
  EVENT_RECEIVED,
  handleWebhook,
  type WebhookDeps,
  type WebhookRequest,
} from '../../../lib/webhook/webhook.ts';
import { hubSignature } from '../../support/signing.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';
import { type WebhookHarness, webhookHarness } from '../../support/webhook-harness.ts';

const SECRET = 'test-app-secret-5f2a9c';
const VERIFY = 'test-verify-token-77e1';
const PAGE = '104857600000001';
const USER = '6789012345678901';
const NOW = 1_700_000_100_000;

const enc = (s: string) => new TextEncoder().encode(s);
const sig256 = (body: Uint8Array | string, key = SECRET) => hubSignature(body, key);

const messageItem = (mid: string | undefined, text: string, psid = USER, timestamp = NOW - 50) => ({
  sender: { id: psid },
  recipient: { id: PAGE },
  timestamp,
  message: { ...(mid && { mid }), text },
});
const bodyOf = (...messaging: unknown[]) =>
  JSON.stringify({ object: 'page', entry: [{ id: PAGE, time: NOW - 10, messaging }] });

const post = (
  body: string | Uint8Array,
  headers: Record<string, string | undefined> = {},
): WebhookRequest => {
  const bytes = typeof body === 'string' ? enc(body) : body;
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig256(bytes), ...headers },
    query: {},
    body: bytes,
  };
};

const fakeStep = (n: number): Step => ({ action: { sender_action: 'typing_on' }, delayMs: n });

const harness = (over: Partial<WebhookDeps> = {}): WebhookHarness =>
  webhookHarness(
    { appSecret: SECRET, now: () => NOW },
    {
      verifyToken: VERIFY,
      planPrelude: () => ({ steps: [fakeStep(0), fakeStep(600)], typingAfterMs: 600 }),
      ...over,
    },
  );

describe('handleWebhook: GET verification', () => {
  const get = (query: Record<string, string>): WebhookRequest => ({
    method: 'GET',
    headers: {},
    query,
    body: enc(''),
  });

  it('echoes hub.challenge as text/plain when mode is subscribe and the token matches', async () => {
    const { deps } = harness();
    const res = await handleWebhook(
      get({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY, 'hub.challenge': '1158201444' }),
      deps,
    );
    expect(res).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: '1158201444',
    });
  });

  it('answers 403 for a wrong token or mode, 400 without a challenge, 405 for other methods', async () => {
    const { deps } = harness();
    const ask = (q: Record<string, string>) => handleWebhook(get(q), deps).then((r) => r.statusCode);
    expect(
      await ask({ 'hub.mode': 'subscribe', 'hub.verify_token': `${VERIFY}x`, 'hub.challenge': '1' }),
    ).toBe(403);
    expect(await ask({ 'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY, 'hub.challenge': '1' })).toBe(
      403,
    );
    expect(await ask({ 'hub.challenge': '1' })).toBe(403);
    expect(await ask({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY })).toBe(400);
    const put = await handleWebhook({ method: 'PUT', headers: {}, query: {}, body: enc('') }, deps);
    expect(put.statusCode).toBe(405);
    expect(put.headers.allow).toBe('GET, POST');
  });
});

describe('handleWebhook: POST rejects (4xx with a reason, nothing enqueued)', () => {
  const body = bodyOf(messageItem('m_1', 'hi'));

  it.each([
    ['no signature', 401, { 'x-hub-signature-256': undefined }, /missing X-Hub-Signature-256/],
    [
      'sha1 only',
      401,
      {
        'x-hub-signature-256': undefined,
        'x-hub-signature': hubSignature(body, SECRET, 'sha1'),
      },
      /sha1/,
    ],
    ['wrong secret', 403, { 'x-hub-signature-256': sig256(body, 'other-secret') }, /does not match/],
    ['garbage signature', 403, { 'x-hub-signature-256': 'sha256=zz' }, /does not match/],
  ] as const)('%s → %i', async (_name, status, headers, reason) => {
    const h = harness();
    const res = await handleWebhook(post(body, headers), h.deps);
    expect(res.statusCode).toBe(status);
    expect(res.body).toMatch(reason);
    expect(h.enqueued).toEqual([]);
    expect(h.seen).toEqual([]);
    expect(metricTotal(h.telemetry.metrics, 'SignatureFailures')).toBe(1);
  });

  it('rejects a flipped byte of a signed body', async () => {
    const h = harness();
    const bytes = enc(body);
    const signature = sig256(bytes);
    const flipped = Uint8Array.from(bytes);
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    const res = await handleWebhook(post(flipped, { 'x-hub-signature-256': signature }), h.deps);
    expect(res.statusCode).toBe(403);
    expect(h.enqueued).toEqual([]);
  });

  it('answers 413 for a body above the limit before checking the signature', async () => {
    const h = harness({ maxBodyBytes: 100 });
    const big = bodyOf(messageItem('m_1', 'x'.repeat(200)));
    const res = await handleWebhook(post(big, { 'x-hub-signature-256': undefined }), h.deps);
    expect(res.statusCode).toBe(413);
    expect(metricTotal(h.telemetry.metrics, 'SignatureFailures')).toBe(0);
  });

  it.each([
    ['empty body', '', /empty/],
    ['not JSON', '{"object":"page",', /not valid JSON/],
    ['a JSON array', '[]', /JSON object/],
    // Instagram and WhatsApp are channels now (lib/meta/); other Graph objects are not.
    ['object user', '{"object":"user","entry":[]}', /"object" must be "page" or "instagram"/],
    ['a bare field/value body', '{"field":"messages","value":{}}', /"object" must be "page"/],
  ])('answers 400 for %s (signed)', async (_name, raw, reason) => {
    const h = harness();
    const res = await handleWebhook(post(raw), h.deps);
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(reason);
    expect(h.enqueued).toEqual([]);
  });
});

describe('handleWebhook: POST events', () => {
  it('enqueues the prelude on the steps queue and the event on the responder queue, then answers 200', async () => {
    const planned: InboundEvent[] = [];
    const h = harness({
      planPrelude: (event) => {
        planned.push(event);
        return { steps: [fakeStep(1), fakeStep(2)], typingAfterMs: 3 };
      },
    });
    const res = await handleWebhook(post(bodyOf(messageItem('m_1', 'hi there'))), h.deps);
    expect(res).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: EVENT_RECEIVED,
    });
    expect(h.seen).toHaveLength(1);
    expect(h.seen[0]).toMatchObject({
      kind: 'message',
      pageId: PAGE,
      psid: USER,
      eventId: 'm_1',
      text: 'hi there',
    });
    expect(planned.map((e) => e.eventId)).toEqual(['m_1']);
    expect(h.enqueued).toEqual([
      {
        channel: 'messenger',
        pageId: PAGE,
        psid: USER,
        sequenceId: 'm_1',
        inboundMid: 'm_1',
        steps: [fakeStep(1), fakeStep(2)],
        plannedAt: NOW,
      },
    ]);
    expect(h.inbounds).toEqual([{ v: 1, event: h.seen[0], receivedAt: NOW, typingAt: NOW + 3 }]);
    expect(metricTotal(h.telemetry.metrics, 'EventsReceived', { kind: 'message' })).toBe(1);
    expect(metricTotal(h.telemetry.metrics, 'EventsEnqueued')).toBe(1);
  });

  it('plans no prelude for an event a person would not answer (a reaction): the responder still gets it', async () => {
    const h = harness();
    const raw = bodyOf({
      sender: { id: USER },
      recipient: { id: PAGE },
      timestamp: NOW,
      reaction: { mid: 'm_0', action: 'react', reaction: 'love', emoji: '❤' },
    });
    expect((await handleWebhook(post(raw), h.deps)).statusCode).toBe(200);
    expect(h.enqueued).toEqual([]);
    expect(h.inbounds).toHaveLength(1);
    expect(h.inbounds[0]?.typingAt).toBeUndefined();
  });

  it('answers 200 and enqueues nothing for events that need no reply (echo, read, delivery, standby)', async () => {
    const h = harness();
    const raw = JSON.stringify({
      object: 'page',
      entry: [
        {
          id: PAGE,
          standby: [messageItem('m_s', 'other app owns this')],
          messaging: [
            {
              sender: { id: PAGE },
              recipient: { id: USER },
              timestamp: NOW,
              message: { is_echo: true, mid: 'm_e', text: 'x' },
            },
            { sender: { id: USER }, recipient: { id: PAGE }, timestamp: NOW, read: { watermark: NOW } },
            { sender: { id: USER }, recipient: { id: PAGE }, delivery: { watermark: NOW } },
          ],
        },
      ],
    });
    const res = await handleWebhook(post(raw), h.deps);
    expect(res.statusCode).toBe(200);
    expect(h.seen).toEqual([]);
    expect(h.enqueued).toEqual([]);
    for (const reason of ['echo', 'read', 'delivery', 'standby']) {
      expect(metricTotal(h.telemetry.metrics, 'EventsIgnored', { reason })).toBe(1);
    }
  });

  it('isolates a throwing prelude planner to its own event', async () => {
    const h = harness({
      planPrelude: (event) => {
        if (event.text === 'bad') throw new Error('boom');
        return { steps: [fakeStep(0)], typingAfterMs: 0 };
      },
    });
    const raw = bodyOf(messageItem('m_1', 'bad'), messageItem('m_2', 'good', '5555'));
    expect((await handleWebhook(post(raw), h.deps)).statusCode).toBe(200);
    expect(h.enqueued.map((s) => s.sequenceId)).toEqual(['m_2']);
    expect(h.seen.map((e) => e.eventId)).toEqual(['m_2']);
    expect(metricTotal(h.telemetry.metrics, 'PlanErrors')).toBe(1);
  });

  it('answers 500 when the responder queue refuses the event; the re-delivery enqueues both again', async () => {
    let fail = true;
    const h = harness();
    h.deps.enqueueInbound = async (inbound) => {
      if (fail) throw new Error('SendMessage (inbound) failed: ThrottlingException');
      h.inbounds.push(inbound);
    };
    const raw = post(bodyOf(messageItem('m_1', 'hi')));
    expect((await handleWebhook(raw, h.deps)).statusCode).toBe(500);
    fail = false;
    expect((await handleWebhook(raw, h.deps)).statusCode).toBe(200);
    // Same sequence id twice: SQS's dedup id makes the second prelude a no-op.
    expect(h.enqueued.map((s) => s.sequenceId)).toEqual(['m_1', 'm_1']);
    expect(h.inbounds.map((i) => i.event.eventId)).toEqual(['m_1']);
  });

  it('answers 500 when an enqueue fails, and the re-delivery enqueues the identical sequence', async () => {
    const attempts: SequenceToEnqueue[] = [];
    let fail = true;
    const h = harness({
      enqueue: async (seq) => {
        attempts.push(seq);
        if (fail) throw new Error('SendMessageBatch failed after 4 attempts: ThrottlingException');
      },
    });
    const raw = post(bodyOf(messageItem('m_1', 'hi')));
    expect((await handleWebhook(raw, h.deps)).statusCode).toBe(500);
    fail = false;
    h.deps.now = () => NOW + 30_000;
    expect((await handleWebhook(raw, h.deps)).statusCode).toBe(200);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]?.sequenceId).toBe(attempts[0]?.sequenceId);
    expect(attempts[1]?.steps).toEqual(attempts[0]?.steps);
    expect(metricTotal(h.telemetry.metrics, 'EnqueueFailures')).toBe(1);
  });

  it("enqueues one user's sequences one after the other, and different users concurrently", async () => {
    const started: string[] = [];
    const release = new Map<string, () => void>();
    const h = harness({
      enqueue: (seq) =>
        new Promise<void>((resolve) => {
          started.push(seq.sequenceId);
          release.set(seq.sequenceId, resolve);
        }),
    });
    const raw = bodyOf(
      messageItem('m_a1', 'one', 'A'),
      messageItem('m_a2', 'two', 'A'),
      messageItem('m_b1', 'other', 'B'),
    );
    const pending = handleWebhook(post(raw), h.deps);
    await new Promise((r) => setImmediate(r));
    expect(started.sort()).toEqual(['m_a1', 'm_b1']); // A's second waits for its first
    release.get('m_a1')?.();
    await new Promise((r) => setImmediate(r));
    expect(started).toContain('m_a2');
    release.get('m_a2')?.();
    release.get('m_b1')?.();
    expect((await pending).statusCode).toBe(200);
  });

  it("holds a user's later sequences back when an earlier one fails (they would overtake it)", async () => {
    const h = harness({
      enqueue: async (seq) => {
        if (seq.sequenceId === 'm_a1') throw new Error('nope');
        h.enqueued.push(seq);
      },
    });
    const raw = bodyOf(
      messageItem('m_a1', 'one', 'A'),
      messageItem('m_a2', 'two', 'A'),
      messageItem('m_b1', 'x', 'B'),
    );
    expect((await handleWebhook(post(raw), h.deps)).statusCode).toBe(500);
    expect(h.enqueued.map((s) => s.sequenceId)).toEqual(['m_b1']);
    expect(metricTotal(h.telemetry.metrics, 'EnqueueFailures')).toBe(2);
  });

  it('never logs raw PSIDs, message text or secrets', async () => {
    const h = harness({
      planPrelude: () => {
        throw new Error('planner exploded');
      },
    });
    await handleWebhook(post(bodyOf(messageItem('m_1', 'my private words'))), h.deps);
    await handleWebhook(post('{}', { 'x-hub-signature-256': 'sha256=00' }), h.deps);
    await handleWebhook(
      {
        method: 'GET',
        headers: {},
        query: { 'hub.mode': 'subscribe', 'hub.verify_token': 'guess' },
        body: enc(''),
      },
      h.deps,
    );
    const logged = JSON.stringify(h.telemetry.logs);
    expect(logged).toContain(userLabel(USER));
    for (const secret of [USER, 'my private words', SECRET, VERIFY, 'guess'])
      expect(logged).not.toContain(secret);
  });
});

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The steps queue as SQS FIFO behaves: a dedup id seen in the last 5 minutes is accepted but not queued
 * again (AWS SQS Developer Guide, exactly-once processing). One dedup id per sequence is enough here.
 */
const fifoQueue = (now: () => number, fails: (seq: SequenceToEnqueue) => boolean = () => false) => {
  const firstSentAt = new Map<string, number>();
  const queued: string[] = [];
  const enqueue = async (seq: SequenceToEnqueue) => {
    if (fails(seq)) throw new Error('SendMessageBatch failed after 4 attempts: ServiceUnavailable');
    const id = `${seq.sequenceId}:0`;
    const at = firstSentAt.get(id);
    if (at !== undefined && now() - at < 5 * MINUTE) return;
    firstSentAt.set(id, now());
    queued.push(seq.sequenceId);
  };
  return { enqueue, queued };
};

/** A webhook on a movable clock, with the answered-events ledger on the same clock (48 h, as deployed). */
const redeliveryHarness = (
  options: { ledger?: Ledger; fails?: (seq: SequenceToEnqueue) => boolean } = {},
) => {
  const clock = { now: NOW };
  const now = () => clock.now;
  const queue = fifoQueue(now, options.fails);
  const h = harness({
    now,
    enqueue: queue.enqueue,
    ledger: options.ledger ?? memoryLedger({ ttlMs: 48 * HOUR, now }),
  });
  return { ...h, clock, queued: queue.queued };
};

const forgetfulLedger: Ledger = { has: async () => false, record: async () => {} };

describe('handleWebhook: re-deliveries get no second reply (answered-events ledger)', () => {
  const body = bodyOf(messageItem('m_1', 'hi'));

  it('drops a re-delivery that comes after SQS’s 5-minute dedup window, up to Meta’s 36 hours', async () => {
    const h = redeliveryHarness();
    expect((await handleWebhook(post(body), h.deps)).statusCode).toBe(200);
    for (const later of [6 * MINUTE, 36 * HOUR]) {
      h.clock.now = NOW + later;
      expect((await handleWebhook(post(body), h.deps)).statusCode).toBe(200);
    }
    expect(h.queued).toEqual(['m_1']);
    expect(metricTotal(h.telemetry.metrics, 'DuplicateEventsDropped')).toBe(2);
    const dropped = h.telemetry.logs.filter(
      (l) => l.message === 'event already answered; re-delivery dropped',
    );
    expect(dropped.map((l) => [l.level, l.attributes])).toEqual([
      ['info', { user: userLabel(USER), eventId: 'm_1' }],
      ['info', { user: userLabel(USER), eventId: 'm_1' }],
    ]);
    expect(JSON.stringify(h.telemetry.logs)).not.toContain(USER);
  });

  it('needs the ledger for that: SQS dedup alone queues the late re-delivery a second time', async () => {
    const h = redeliveryHarness({ ledger: forgetfulLedger });
    await handleWebhook(post(body), h.deps);
    h.clock.now = NOW + 4 * MINUTE;
    await handleWebhook(post(body), h.deps);
    expect(h.queued).toEqual(['m_1']);
    h.clock.now = NOW + 6 * MINUTE;
    await handleWebhook(post(body), h.deps);
    expect(h.queued).toEqual(['m_1', 'm_1']);
  });

  it('records an event only after its sequence was enqueued, so a failed enqueue is answered on re-delivery', async () => {
    const order: string[] = [];
    let enqueueFails = true;
    const inner = memoryLedger({ now: () => NOW });
    const h = harness({
      ledger: {
        has: async (key) => {
          order.push('check');
          return inner.has(key);
        },
        record: async (key) => {
          order.push('record');
          return inner.record(key);
        },
      },
      enqueue: async (seq) => {
        order.push('enqueue');
        if (enqueueFails) throw new Error('throttled');
        h.enqueued.push(seq);
      },
    });
    expect((await handleWebhook(post(body), h.deps)).statusCode).toBe(500);
    expect(order).toEqual(['check', 'enqueue']);
    expect(await inner.has(eventKey(PAGE, 'm_1'))).toBe(false);
    enqueueFails = false;
    expect((await handleWebhook(post(body), h.deps)).statusCode).toBe(200);
    expect(order).toEqual(['check', 'enqueue', 'check', 'enqueue', 'record']);
    expect(h.enqueued.map((s) => s.sequenceId)).toEqual(['m_1']);
    expect(await inner.has(eventKey(PAGE, 'm_1'))).toBe(true);
  });

  it('fails open on an unreadable ledger: enqueues, answers 200, warns and counts it', async () => {
    const h = redeliveryHarness({
      ledger: {
        has: async () => {
          throw new Error('ProvisionedThroughputExceededException');
        },
        record: async () => {},
      },
    });
    expect((await handleWebhook(post(body), h.deps)).statusCode).toBe(200);
    expect(h.queued).toEqual(['m_1']);
    expect(metricTotal(h.telemetry.metrics, 'LedgerReadFailed')).toBe(1);
    expect(metricTotal(h.telemetry.metrics, 'EventsEnqueued')).toBe(1);
    const warned = h.telemetry.logs.find((l) => l.level === 'warn');
    expect(warned?.attributes).toMatchObject({ user: userLabel(USER), eventId: 'm_1' });
  });

  it('answers 200 when recording fails after the enqueue: the reply is queued, the failure counted', async () => {
    const h = redeliveryHarness({
      ledger: {
        has: async () => false,
        record: async () => {
          throw new Error('AccessDeniedException');
        },
      },
    });
    expect((await handleWebhook(post(body), h.deps)).statusCode).toBe(200);
    expect(h.queued).toEqual(['m_1']);
    expect(metricTotal(h.telemetry.metrics, 'LedgerWriteFailed')).toBe(1);
    expect(h.telemetry.logs.some((l) => l.level === 'warn' && l.message.includes('record'))).toBe(true);
  });

  it('treats each event of a multi-event POST on its own: skips the answered, retries only the failed', async () => {
    const failing = new Set(['m_c']);
    const h = redeliveryHarness({ fails: (seq) => failing.has(seq.sequenceId) });
    await h.deps.ledger.record(eventKey(PAGE, 'm_a'));
    const multi = bodyOf(
      messageItem('m_a', 'answered before', 'A'),
      messageItem('m_b', 'new', 'B'),
      messageItem('m_c', 'fails once', 'C'),
    );
    expect((await handleWebhook(post(multi), h.deps)).statusCode).toBe(500);
    expect(h.queued).toEqual(['m_b']);
    failing.clear();
    h.clock.now = NOW + 10 * MINUTE; // Meta's retry, past SQS's dedup window
    expect((await handleWebhook(post(multi), h.deps)).statusCode).toBe(200);
    expect(h.queued).toEqual(['m_b', 'm_c']);
    expect(metricTotal(h.telemetry.metrics, 'DuplicateEventsDropped')).toBe(3); // m_a twice, m_b once
  });

  it('looks up all events of a POST at once, not one after the other', async () => {
    const pending: (() => void)[] = [];
    const h = harness({
      ledger: {
        has: () =>
          new Promise<boolean>((resolve) => {
            pending.push(() => resolve(false));
          }),
        record: async () => {},
      },
    });
    const response = handleWebhook(
      post(bodyOf(messageItem('m_1', 'a', 'A'), messageItem('m_2', 'b', 'B'), messageItem('m_3', 'c', 'A'))),
      h.deps,
    );
    await new Promise((r) => setImmediate(r));
    expect(pending).toHaveLength(3);
    for (const resolve of pending) resolve();
    expect((await response).statusCode).toBe(200);
    expect(h.enqueued.map((s) => s.sequenceId).sort()).toEqual(['m_1', 'm_2', 'm_3']);
  });

  it('whatever Meta re-delivers, whenever, whatever fails: a 200 means every event is queued; with a working ledger none twice (property)', async () => {
    const users = ['U1', 'U2', 'U3'];
    const delivery = fc.record({
      events: fc.uniqueArray(fc.nat(5), { minLength: 1, maxLength: 4 }),
      after: fc.oneof(fc.integer({ min: 0, max: 4 * MINUTE }), fc.integer({ min: 0, max: 40 * HOUR })),
      failing: fc.array(fc.nat(5), { maxLength: 2 }),
    });
    const broken = async (): Promise<never> => {
      throw new Error('dynamo down');
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(delivery, { minLength: 1, maxLength: 8 }),
        fc.constantFrom('works', 'unreadable', 'unwritable'),
        async (deliveries, ledgerState) => {
          let failing = new Set<string>();
          const h = redeliveryHarness({ fails: (seq) => failing.has(seq.sequenceId) });
          const { has, record } = h.deps.ledger;
          if (ledgerState === 'unreadable') h.deps.ledger = { has: broken, record };
          if (ledgerState === 'unwritable') h.deps.ledger = { has, record: broken };
          for (const d of deliveries) {
            // Meta stops re-delivering after 36 hours (Meta, Webhooks "Event notifications").
            h.clock.now = Math.min(h.clock.now + d.after, NOW + 36 * HOUR);
            failing = new Set(d.failing.map((n) => `m_${n}`));
            const items = d.events.map((n) => messageItem(`m_${n}`, `text ${n}`, users[n % users.length]));
            const res = await handleWebhook(post(bodyOf(...items)), h.deps);
            expect([200, 500]).toContain(res.statusCode);
            // Only a failed enqueue answers 500 (so Meta retries); the ledger never does.
            if (res.statusCode === 500) expect(d.events.some((n) => failing.has(`m_${n}`))).toBe(true);
            // A 200 means no reply of this POST is lost.
            else for (const n of d.events) expect(h.queued).toContain(`m_${n}`);
          }
          if (ledgerState === 'works') expect(new Set(h.queued).size).toBe(h.queued.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('handleWebhook: properties', () => {
  const anyHeaders = fc.dictionary(
    fc.constantFrom('x-hub-signature-256', 'x-hub-signature', 'content-type', 'x-other'),
    fc.oneof(
      fc.string(),
      fc.constant('sha256=').map((p) => p + 'a'.repeat(64)),
    ),
  );

  it('random bodies and headers never crash, never 5xx, never enqueue; every reject is a 4xx with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.json().map(enc), fc.string().map(enc)),
        anyHeaders,
        fc.constantFrom('POST', 'GET', 'post', 'DELETE'),
        async (body, headers, method) => {
          const h = harness();
          const res = await handleWebhook({ method, headers, query: {}, body }, h.deps);
          expect(res.statusCode).toBeGreaterThanOrEqual(400);
          expect(res.statusCode).toBeLessThan(500);
          expect(res.body.length).toBeGreaterThan(0);
          expect(h.enqueued).toEqual([]);
        },
      ),
    );
  });

  it('forged signatures over a real body are never accepted', async () => {
    const body = enc(bodyOf(messageItem('m_1', 'hi')));
    const real = sig256(body);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256=${hex}`),
          fc.string({ minLength: 1 }).map((key) => sig256(body, key)),
        ),
        async (signature) => {
          fc.pre(signature !== real && signature.trim() !== real);
          const h = harness();
          const res = await handleWebhook(post(body, { 'x-hub-signature-256': signature }), h.deps);
          expect([401, 403]).toContain(res.statusCode);
          expect(h.enqueued).toEqual([]);
        },
      ),
    );
  });

  it('any correctly signed body gets a 2xx or a 4xx, never a 5xx, when enqueueing works', async () => {
    const event = fc.record({
      sender: fc.oneof(fc.anything(), fc.record({ id: fc.oneof(fc.string(), fc.nat()) })),
      recipient: fc.record({ id: fc.string() }),
      timestamp: fc.oneof(fc.nat(), fc.string(), fc.double()),
      message: fc.oneof(fc.anything(), fc.record({ mid: fc.string(), text: fc.string() })),
    });
    const page = fc.record({
      object: fc.constantFrom('page', 'instagram'),
      entry: fc.array(fc.record({ id: fc.string(), messaging: fc.array(event, { maxLength: 4 }) }), {
        maxLength: 3,
      }),
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(page, fc.jsonValue()), async (json) => {
        const h = harness();
        const res = await handleWebhook(post(JSON.stringify(json) ?? ''), h.deps);
        expect(res.statusCode).toBeLessThan(500);
        if (res.statusCode >= 400) expect(res.body.length).toBeGreaterThan(0);
      }),
    );
  });
});

// ——— through the Lambda handler: env, API Gateway v2 events, a mocked SQS ———

const sqsMock = mockClient(SQSClient);
const env = {
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ellipsis-steps.fifo',
  RESPONDER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ellipsis-responder.fifo',
  META_APP_SECRET: 'ellipsis-sample-app-secret',
  META_VERIFY_TOKEN: 'ellipsis-sample-verify-token',
  PLAN_TIME_SCALE: '0.01',
  AWS_REGION: 'us-east-1',
};
const sampleEvent = (name: string): APIGatewayProxyEventV2 =>
  JSON.parse(
    readFileSync(
      join(import.meta.dirname, '..', '..', '..', 'infra', 'events', `fixture-webhook-${name}.json`),
      'utf8',
    ),
  );
const lambda = (
  over: Parameters<typeof makeHandler>[1] = {},
  e: Record<string, string | undefined> = env,
) => {
  const telemetry = memoryTelemetry();
  const handler = makeHandler(e, {
    sqs: new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    telemetry,
    now: () => NOW,
    sleep: async () => {},
    random: () => 0,
    ...over,
  });
  return { handler, telemetry };
};
/** The SendMessageBatch calls to one queue (the steps queue unless named), as their entries. */
const batches = (queueUrl = env.QUEUE_URL) =>
  sqsMock
    .commandCalls(SendMessageBatchCommand)
    .filter((c) => c.args[0].input.QueueUrl === queueUrl)
    .map((c) => c.args[0].input.Entries ?? []);

describe('functions/webhook makeHandler', () => {
  beforeEach(() => {
    sqsMock.reset();
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: SendMessageBatchRequestEntry[] }) => ({
      Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `id-${e.Id}`, MD5OfMessageBody: 'x' })),
    }));
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'id-inbound' });
  });

  it('turns a signed message into one SendMessageBatch on each queue: the prelude, then the event', async () => {
    const { handler } = lambda();
    const res = await handler(sampleEvent('message-hi'));
    expect(res).toMatchObject({ statusCode: 200, body: EVENT_RECEIVED });
    expect(batches()).toHaveLength(1);
    const entries = batches()[0] ?? [];
    const event: InboundEvent = {
      channel: 'messenger',
      kind: 'message',
      pageId: PAGE,
      psid: USER,
      timestamp: 1700000000100,
      eventId: 'm_sample_hi_0001',
      mid: 'm_sample_hi_0001',
      text: 'hi there!',
      attachments: [],
    };
    const expected = planPrelude({ seed: event.eventId, inboundText: event.text }, loadPlanConfig(env)).steps;
    expect(expected.length).toBe(2);
    const order = sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.QueueUrl);
    expect(order).toEqual([env.QUEUE_URL, env.RESPONDER_QUEUE_URL]);
    const inbound = batches(env.RESPONDER_QUEUE_URL).flat();
    expect(inbound).toHaveLength(1);
    expect(inbound[0]?.MessageGroupId).toBe(`${PAGE}:${USER}`);
    const body = decodeInbound(inbound[0]?.MessageBody ?? '');
    expect(body.ok && body.inbound.event).toEqual(event);
    const decoded = entries.map((e) => decodeStep(e.MessageBody ?? ''));
    expect(decoded.map((d) => (d.ok ? { action: d.step.action, delayMs: d.step.delayMs } : d))).toEqual(
      expected.map((s) => ({ action: s.action, delayMs: s.delayMs })),
    );
    for (const e of entries) {
      expect(e.MessageGroupId).toBe(`${PAGE}:${USER}`);
      expect(e.MessageDeduplicationId).toMatch(/^m_sample_hi_0001:\d+$/);
    }
  });

  it('rejects the sha1-only and wrong-secret events with 401/403 and never calls SQS', async () => {
    const { handler } = lambda();
    expect((await handler(sampleEvent('unsigned-sha1-only'))).statusCode).toBe(401);
    const wrong = lambda({}, { ...env, META_APP_SECRET: 'a-different-secret' });
    expect((await wrong.handler(sampleEvent('message-hi'))).statusCode).toBe(403);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('answers 200 to an echo without touching SQS', async () => {
    const { handler } = lambda();
    expect((await handler(sampleEvent('echo'))).statusCode).toBe(200);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('answers the verification handshake from a real-shaped GET event', async () => {
    const { handler } = lambda();
    expect(await handler(sampleEvent('verify'))).toMatchObject({ statusCode: 200, body: '1158201444' });
    expect((await handler(sampleEvent('verify-wrong-token'))).statusCode).toBe(403);
  });

  it('answers 500 when SQS refuses the batch', async () => {
    sqsMock.reset();
    sqsMock
      .on(SendMessageBatchCommand)
      .rejects(
        Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
      );
    const { handler, telemetry } = lambda();
    expect((await handler(sampleEvent('message-hi'))).statusCode).toBe(500);
    expect(telemetry.logs.some((l) => l.level === 'error' && l.message === 'enqueue failed')).toBe(true);
  });

  it('accepts a base64-encoded body and mixed-case header names', async () => {
    const sample = sampleEvent('message-hi');
    const headers = Object.fromEntries(
      Object.entries(sample.headers).map(([k, v]) => [k.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase()), v]),
    );
    const { handler } = lambda();
    const res = await handler({
      ...sample,
      headers,
      body: Buffer.from(sample.body ?? '', 'utf8').toString('base64'),
      isBase64Encoded: true,
    });
    expect(res.statusCode).toBe(200);
    expect(batches()).toHaveLength(1);
  });

  it('reads secrets from SSM parameter names when *_PARAM is set', async () => {
    const asked: string[] = [];
    const values: Record<string, string> = {
      '/e/app-secret': env.META_APP_SECRET,
      '/e/verify': env.META_VERIFY_TOKEN,
    };
    const { handler } = lambda(
      {
        fetchParameter: async (name) => {
          asked.push(name);
          return values[name] ?? '';
        },
      },
      {
        QUEUE_URL: env.QUEUE_URL,
        RESPONDER_QUEUE_URL: env.RESPONDER_QUEUE_URL,
        META_APP_SECRET_PARAM: '/e/app-secret',
        META_VERIFY_TOKEN_PARAM: '/e/verify',
      },
    );
    expect((await handler(sampleEvent('message-hi'))).statusCode).toBe(200);
    expect((await handler(sampleEvent('verify'))).statusCode).toBe(200);
    expect(asked.sort()).toEqual(['/e/app-secret', '/e/verify']); // once, at cold start
  });

  it('answers a generic 500 on a config error, logs the variable names only, and retries next time', async () => {
    const e: Record<string, string | undefined> = { ...env, QUEUE_URL: undefined };
    const { handler, telemetry } = lambda({}, e);
    const res = await handler(sampleEvent('message-hi'));
    expect(res).toMatchObject({ statusCode: 500, body: 'webhook is not configured' });
    const logged = JSON.stringify(telemetry.logs);
    expect(logged).toContain('QUEUE_URL');
    expect(logged).not.toContain(env.META_APP_SECRET);
    e.QUEUE_URL = env.QUEUE_URL;
    expect((await handler(sampleEvent('message-hi'))).statusCode).toBe(200);
  });

  it('warns at cold start without STATE_TABLE_NAME, and still drops a re-delivery on the same container', async () => {
    const { handler, telemetry } = lambda();
    expect((await handler(sampleEvent('message-hi'))).statusCode).toBe(200);
    expect((await handler(sampleEvent('message-hi'))).statusCode).toBe(200);
    expect(batches()).toHaveLength(1);
    const warning = telemetry.logs.find((l) => l.level === 'warn' && l.message.includes('STATE_TABLE_NAME'));
    expect(warning?.message).toMatch(/per container/);
    expect(metricTotal(telemetry.metrics, 'DuplicateEventsDropped')).toBe(1);
  });

  describe('with STATE_TABLE_NAME (DynamoDB)', () => {
    const dynamoMock = mockClient(DynamoDBClient);
    const dynamo = () =>
      new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const tableEnv = { ...env, STATE_TABLE_NAME: 'ellipsis-test-state' };
    const key = eventKey(PAGE, 'm_sample_hi_0001');
    beforeEach(() => dynamoMock.reset());

    it('checks the event, enqueues, then records it for 48 h; another container drops the re-delivery', async () => {
      const calls: string[] = [];
      const table = new Map<string, Record<string, { S?: string; N?: string }>>();
      dynamoMock.on(GetItemCommand).callsFake((input) => {
        calls.push('GetItem');
        return { Item: table.get(input.Key[STATE_TABLE_KEY].S) };
      });
      dynamoMock.on(PutItemCommand).callsFake((input) => {
        calls.push('PutItem');
        table.set(input.Item[STATE_TABLE_KEY].S, input.Item);
        return {};
      });
      sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: SendMessageBatchRequestEntry[] }) => {
        calls.push('SendMessageBatch');
        return {
          Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: 'id', MD5OfMessageBody: 'x' })),
        };
      });
      const first = lambda({ dynamo: dynamo() }, tableEnv);
      expect((await first.handler(sampleEvent('message-hi'))).statusCode).toBe(200);
      expect(calls).toEqual(['GetItem', 'SendMessageBatch', 'SendMessageBatch', 'PutItem']);
      expect(dynamoMock.commandCalls(PutItemCommand)[0]?.args[0].input).toEqual({
        TableName: 'ellipsis-test-state',
        Item: {
          [STATE_TABLE_KEY]: { S: key },
          [STATE_TABLE_TTL_ATTRIBUTE]: { N: String(Math.floor(NOW / 1000) + 48 * 3600) },
        },
      });
      expect(first.telemetry.logs.some((l) => l.message.includes('STATE_TABLE_NAME'))).toBe(false);

      const other = lambda({ dynamo: dynamo(), now: () => NOW + 6 * MINUTE }, tableEnv);
      expect((await other.handler(sampleEvent('message-hi'))).statusCode).toBe(200);
      expect(calls).toEqual(['GetItem', 'SendMessageBatch', 'SendMessageBatch', 'PutItem', 'GetItem']);
      expect(metricTotal(other.telemetry.metrics, 'DuplicateEventsDropped')).toBe(1);
    });

    it('fails open when DynamoDB is down: the reply is enqueued and the answer is 200', async () => {
      dynamoMock
        .on(GetItemCommand)
        .rejects(Object.assign(new Error('down'), { name: 'InternalServerError' }));
      dynamoMock
        .on(PutItemCommand)
        .rejects(Object.assign(new Error('down'), { name: 'InternalServerError' }));
      const { handler, telemetry } = lambda({ dynamo: dynamo() }, tableEnv);
      expect((await handler(sampleEvent('message-hi'))).statusCode).toBe(200);
      expect(batches()).toHaveLength(1);
      expect(metricTotal(telemetry.metrics, 'LedgerReadFailed')).toBe(1);
      expect(metricTotal(telemetry.metrics, 'LedgerWriteFailed')).toBe(1);
    });

    it('takes the record TTL from EVENT_TTL_SECONDS', async () => {
      dynamoMock.on(GetItemCommand).resolves({});
      dynamoMock.on(PutItemCommand).resolves({});
      const { handler } = lambda({ dynamo: dynamo() }, { ...tableEnv, EVENT_TTL_SECONDS: '604800' });
      await handler(sampleEvent('message-hi'));
      expect(
        dynamoMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item?.[STATE_TABLE_TTL_ATTRIBUTE],
      ).toEqual({
        N: String(Math.floor(NOW / 1000) + 604_800),
      });
    });
  });

  it('maps query strings from rawQueryString (first value wins) or queryStringParameters', () => {
    const base = sampleEvent('verify');
    expect(toWebhookRequest({ ...base, rawQueryString: 'a=1&a=2&b=x%20y' }).query).toEqual({
      a: '1',
      b: 'x y',
    });
    expect(
      toWebhookRequest({ ...base, rawQueryString: '', queryStringParameters: { a: '3' } }).query,
    ).toEqual({ a: '3' });
    expect(toWebhookRequest({ ...base, body: undefined }).body.byteLength).toBe(0);
  });
});
