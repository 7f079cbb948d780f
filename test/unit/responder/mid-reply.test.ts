import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Responder, TurnContext } from '../../../lib/bots/responder.ts';
import { loadPlanConfig } from '../../../lib/pacing/config.ts';
import { abortKey, memoryLedger } from '../../../lib/platform/ledger.ts';
import type { QueueRecord } from '../../../lib/queue/consumer/record.ts';
import type { InboundEvent } from '../../../lib/queue/inbound.ts';
import { encodeInbound, type QueuedInbound } from '../../../lib/queue/inbound-codec.ts';
import type { SequenceToEnqueue } from '../../../lib/queue/producer.ts';
import { turnPolicySchema } from '../../../lib/responder/config.ts';
import {
  decideMidReply,
  type MidReplyDeps,
  memoryReplies,
  mergeEvents,
  openTurn,
  type ReplyInFlight,
  replyKey,
  sequenceEndsAt,
  stateReplies,
} from '../../../lib/responder/mid-reply.ts';
import { dynamoReplies } from '../../../lib/responder/mid-reply-dynamo.ts';
import { processTurns } from '../../../lib/responder/turn-consumer.ts';
import { inboundEvent } from '../../support/factories.ts';
import { fakeStateTable } from '../../support/state-table.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';

const NOW = 1_800_000_000_000;
const ev = (id: string): InboundEvent => inboundEvent({ psid: 'U', eventId: id, mid: id, text: id });
const queued = (id: string): QueuedInbound => ({ v: 1, event: ev(id), receivedAt: NOW, typingAt: NOW + 600 });
const inFlight = (over: Partial<ReplyInFlight> = {}): ReplyInFlight => ({
  events: [ev('a')],
  group: 'PAGE:U',
  sequenceIds: ['a~1.1', 'a~1.2'],
  endsAt: NOW + 5_000,
  ...over,
});
const seq = (sequenceId: string, plannedAt: number, delays: number[]): SequenceToEnqueue => ({
  pageId: 'PAGE',
  psid: 'U',
  sequenceId,
  plannedAt,
  steps: delays.map((delayMs) => ({ action: { sender_action: 'typing_on' as const }, delayMs })),
});

describe('decideMidReply', () => {
  it('finish never restarts, even with a reply in flight', () => {
    expect(decideMidReply('finish', inFlight(), [ev('b')], NOW)).toEqual({ restart: false });
  });

  it('restart aborts every sequence of a reply still being typed and answers both turns, oldest first', () => {
    expect(decideMidReply('restart', inFlight(), [ev('b'), ev('c')], NOW)).toEqual({
      restart: true,
      abort: [abortKey('PAGE:U', 'a~1.1'), abortKey('PAGE:U', 'a~1.2')],
      events: [ev('a'), ev('b'), ev('c')],
    });
  });

  it('restart leaves a reply alone once its last step is due (all sent), and when there is none', () => {
    expect(decideMidReply('restart', inFlight({ endsAt: NOW }), [ev('b')], NOW)).toEqual({ restart: false });
    expect(decideMidReply('restart', undefined, [ev('b')], NOW)).toEqual({ restart: false });
  });
});

describe('mergeEvents', () => {
  it('hands every message over exactly once, the earlier turn first, each turn in its order', () => {
    const ids = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 12 });
    fc.assert(
      fc.property(ids, fc.nat(12), fc.nat(12), (all, cut, overlap) => {
        const split = Math.min(cut, all.length);
        const earlier = all.slice(0, split).map(ev);
        // A retried turn's current part may repeat the end of the earlier one.
        const current = all.slice(Math.max(0, split - overlap)).map(ev);
        expect(mergeEvents(earlier, current).map((e) => e.eventId)).toEqual(all);
      }),
    );
  });
});

describe('sequenceEndsAt', () => {
  it('adds the relative delays to the planned start', () => {
    expect(sequenceEndsAt(seq('s', NOW, [0, 1200, 300]))).toBe(NOW + 1500);
    expect(sequenceEndsAt(seq('s', NOW, []))).toBe(NOW);
  });
});

const policyDeps = (over: Partial<MidReplyDeps> = {}) => {
  const ledger = memoryLedger({ now: () => NOW });
  const replies = memoryReplies({ ttlMs: 60_000, now: () => NOW });
  const telemetry = memoryTelemetry();
  const deps: MidReplyDeps = { policy: 'restart', ledger, replies, telemetry, now: () => NOW, ...over };
  return { deps, ledger, replies, telemetry };
};

const runner = () => {
  const seen: TurnContext[] = [];
  const enqueued: SequenceToEnqueue[] = [];
  return {
    seen,
    enqueued,
    responder: (_e: InboundEvent, turn: TurnContext) => {
      seen.push(turn);
      return [];
    },
    enqueue: async (s: SequenceToEnqueue) => {
      enqueued.push(s);
    },
  };
};

const signal = new AbortController().signal;

describe('openTurn', () => {
  it('restarts a reply in flight: records its aborts, hands both turns over, remembers the merged turn', async () => {
    const p = policyDeps();
    await p.replies.save(replyKey('PAGE', 'U'), inFlight());
    const r = runner();
    const turn = await openTurn([queued('b')], p.deps, r);
    expect(await p.ledger.has(abortKey('PAGE:U', 'a~1.1'))).toBe(true);
    expect(await p.ledger.has(abortKey('PAGE:U', 'a~1.2'))).toBe(true);
    await turn.responder(ev('b'), { events: [ev('b')], signal });
    expect(r.seen[0]?.events.map((e) => e.eventId)).toEqual(['a', 'b']);
    await turn.enqueue(seq('b~1.1', NOW + 100, [0, 2000]));
    await turn.enqueue(seq('b~1.2', NOW + 50, [0]));
    expect(r.enqueued.map((s) => s.sequenceId)).toEqual(['b~1.1', 'b~1.2']);
    await turn.remember();
    expect(await p.replies.load(replyKey('PAGE', 'U'))).toEqual({
      events: [ev('a'), ev('b')],
      group: 'PAGE:U',
      sequenceIds: ['b~1.1', 'b~1.2'],
      endsAt: NOW + 2100,
    });
    expect(metricTotal(p.telemetry.metrics, 'RepliesRestarted')).toBe(1);
  });

  it('finish aborts nothing and hands over only the new turn', async () => {
    const p = policyDeps({ policy: 'finish' });
    await p.replies.save(replyKey('PAGE', 'U'), inFlight());
    const r = runner();
    const turn = await openTurn([queued('b')], p.deps, r);
    await turn.responder(ev('b'), { events: [ev('b')], signal });
    expect(r.seen[0]?.events.map((e) => e.eventId)).toEqual(['b']);
    expect(await p.ledger.has(abortKey('PAGE:U', 'a~1.1'))).toBe(false);
    expect(metricTotal(p.telemetry.metrics, 'RepliesRestarted')).toBe(0);
  });

  it('fails open: an unreadable memory finishes the previous reply; an unwritable one is logged', async () => {
    const broken = {
      load: async () => Promise.reject(new Error('throttled')),
      save: async () => Promise.reject(new Error('throttled')),
    };
    const p = policyDeps({ replies: broken });
    const r = runner();
    const turn = await openTurn([queued('b')], p.deps, r);
    await turn.responder(ev('b'), { events: [ev('b')], signal });
    await expect(turn.remember()).resolves.toBeUndefined();
    expect(r.seen[0]?.events.map((e) => e.eventId)).toEqual(['b']);
    expect(p.telemetry.logs.map((l) => l.message).join('\n')).toMatch(/unreadable[\s\S]*could not remember/);
  });

  it('finishes the previous reply when its aborts cannot be recorded (never two answers to one message)', async () => {
    const ledger = { record: async () => Promise.reject(new Error('throttled')) };
    const p = policyDeps({ ledger });
    await p.replies.save(replyKey('PAGE', 'U'), inFlight());
    const r = runner();
    const turn = await openTurn([queued('b')], p.deps, r);
    await turn.responder(ev('b'), { events: [ev('b')], signal });
    expect(r.seen[0]?.events.map((e) => e.eventId)).toEqual(['b']);
    expect(metricTotal(p.telemetry.metrics, 'RepliesRestarted')).toBe(0);
  });
});

describe('reply memory', () => {
  it('memory forgets after its TTL', async () => {
    let now = NOW;
    const m = memoryReplies({ ttlMs: 1000, now: () => now });
    await m.save('k', inFlight());
    expect(await m.load('k')).toEqual(inFlight());
    now += 1000;
    expect(await m.load('k')).toBeUndefined();
  });

  it('the state table round-trips a reply and forgets one in another shape', async () => {
    const table = fakeStateTable();
    const m = dynamoReplies(table.client, 'state', { ttlSeconds: 3600, now: () => NOW });
    await m.save('k', inFlight());
    expect(await m.load('k')).toEqual(inFlight());
    const item = table.items.get('k');
    if (item) table.items.set('k', { ...item, reply: { S: '{"events":1}' } });
    expect(await m.load('k')).toBeUndefined();
    expect(await m.load('absent')).toBeUndefined();
  });

  it('uses the state table when one is named, else memory with a warning', async () => {
    const table = fakeStateTable();
    const log = { warn: (_m: string) => undefined };
    const durable = stateReplies({ tableName: 'state', now: () => NOW, log, dynamo: table.client });
    await durable.save('k', inFlight());
    expect(table.items.has('k')).toBe(true);
    const warnings: string[] = [];
    const local = stateReplies({
      tableName: undefined,
      now: () => NOW,
      log: { warn: (m) => warnings.push(m) },
    });
    await local.save('k', inFlight());
    expect(await local.load('k')).toEqual(inFlight());
    expect(warnings).toHaveLength(1);
  });
});

describe('processTurns with RESPONDER_MID_REPLY=restart', () => {
  const turnRecord = (id: string): QueueRecord => ({
    messageId: `msg-${id}`,
    receiptHandle: `rh-${id}`,
    body: encodeInbound({ ...queued(id), receivedAt: Date.now() - 60_000 }),
    attributes: { MessageGroupId: 'PAGE:U', ApproximateReceiveCount: '1' },
  });
  const consumer = (responder: Responder) => {
    const p = policyDeps({ now: Date.now });
    const deps = {
      responder,
      enqueue: async () => undefined,
      planConfig: loadPlanConfig({ PLAN_TIME_SCALE: '0' }),
      now: Date.now,
      sleep: async () => undefined,
      telemetry: p.telemetry,
      sqs: { send: async () => ({}) } as never,
      queueUrl: 'https://sqs/responder.fifo',
      policy: turnPolicySchema.parse({}),
      random: () => 1,
      midReply: p.deps,
    };
    return { deps, replies: p.replies };
  };

  it('remembers a finished turn, but not one handed back for a retry (which must find the earlier reply)', async () => {
    const c = consumer((event) => {
      if (event.eventId === 'b') throw new Error('CRM down');
      return [{ message: { text: 'hello' } }];
    });
    await processTurns([turnRecord('a')], c.deps);
    const first = await c.replies.load(replyKey('PAGE', 'U'));
    expect(first?.events.map((e) => e.eventId)).toEqual(['a']);
    expect(first?.sequenceIds).toHaveLength(1);
    const retried = await processTurns([turnRecord('b')], c.deps);
    expect(retried.batchItemFailures).toEqual([{ itemIdentifier: 'msg-b' }]);
    expect(await c.replies.load(replyKey('PAGE', 'U'))).toEqual(first);
  });
});
