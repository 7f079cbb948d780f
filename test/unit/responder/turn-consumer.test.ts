import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { LlmRequestError } from '../../../lib/bots/llm/errors.ts';
import type { Responder } from '../../../lib/bots/responder.ts';
import { loadPlanConfig } from '../../../lib/pacing/config.ts';
import { memoryConversationState } from '../../../lib/platform/conversation-state.ts';
import { groupIdOf } from '../../../lib/queue/codec.ts';
import type { QueueRecord } from '../../../lib/queue/consumer/record.ts';
import { encodeInbound, type QueuedInbound } from '../../../lib/queue/inbound-codec.ts';
import type { SequenceToEnqueue } from '../../../lib/queue/producer.ts';
import { turnPolicySchema } from '../../../lib/responder/config.ts';
import { processTurns } from '../../../lib/responder/turn-consumer.ts';
import { inboundEvent } from '../../support/factories.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';

const NOW = Date.now();
const policy = turnPolicySchema.parse({});

const record = (id: string, psid: string, receivedAt: number, receiveCount = 1): QueueRecord => {
  const inbound: QueuedInbound = {
    v: 1,
    event: inboundEvent({ psid, eventId: id, mid: id, text: `text ${id}` }),
    receivedAt,
    typingAt: receivedAt + 600,
  };
  return {
    messageId: `msg-${id}`,
    receiptHandle: `rh-${id}`,
    body: encodeInbound(inbound),
    attributes: { MessageGroupId: `PAGE:${psid}`, ApproximateReceiveCount: String(receiveCount) },
  };
};

const harness = (responder: Responder) => {
  const sent: unknown[] = [];
  const enqueued: SequenceToEnqueue[] = [];
  const telemetry = memoryTelemetry();
  const deps = {
    responder,
    enqueue: async (seq: SequenceToEnqueue) => {
      enqueued.push(seq);
    },
    planConfig: loadPlanConfig({ PLAN_TIME_SCALE: '0' }),
    now: Date.now,
    // Real (short) timers: the keep-alive loop waits on them while a responder thinks.
    sleep: (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    telemetry,
    sqs: {
      send: async (command: unknown) => {
        sent.push(command);
        return {};
      },
    } as never,
    queueUrl: 'https://sqs/responder.fifo',
    dlqUrl: 'https://sqs/responder-dlq.fifo',
    policy,
    random: () => 1,
  };
  return { deps, sent, enqueued, telemetry };
};

describe('processTurns', () => {
  it('answers a quiet user once for the whole burst, oldest first, and deletes every record', async () => {
    const seen: string[][] = [];
    const h = harness((_e, turn) => {
      seen.push(turn.events.map((e) => e.eventId));
      return [{ message: { text: 'one answer' } }];
    });
    const old = NOW - policy.RESPONDER_QUIET_MS - 1;
    const res = await processTurns(
      [record('a', 'U', old - 2000), record('b', 'U', old - 1000), record('c', 'U', old)],
      h.deps,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(seen).toEqual([['a', 'b', 'c']]);
    expect(metricTotal(h.telemetry.metrics, 'TurnMessages')).toBe(3);
  });

  it('hands a turn whose newest message is still fresh back for the rest of the quiet window', async () => {
    const h = harness(() => {
      throw new Error('must not run');
    });
    const res = await processTurns([record('a', 'U', NOW - 5000), record('b', 'U', NOW - 500)], h.deps);
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['msg-a', 'msg-b']);
    const changes = h.sent.filter((c) => c instanceof ChangeMessageVisibilityCommand);
    expect(changes.map((c) => (c as ChangeMessageVisibilityCommand).input.VisibilityTimeout)).toEqual([2, 2]);
  });

  it('retries a throwing responder with backoff, then dead-letters the whole turn on the final receive', async () => {
    const h = harness(() => {
      throw new Error('CRM down');
    });
    const old = NOW - 60_000;
    const first = await processTurns([record('a', 'U', old, 5)], h.deps);
    expect(first.batchItemFailures).toHaveLength(1);
    const backoff = h.sent.find(
      (c) => c instanceof ChangeMessageVisibilityCommand,
    ) as ChangeMessageVisibilityCommand;
    expect(backoff.input.VisibilityTimeout).toBeGreaterThanOrEqual(1);
    const last = await processTurns(
      [record('a', 'U', old, policy.RESPONDER_QUEUE_MAX_RECEIVE_COUNT), record('b', 'U', old, 3)],
      h.deps,
    );
    expect(last.batchItemFailures).toEqual([]);
    const copies = h.sent.filter((c) => c instanceof SendMessageCommand) as SendMessageCommand[];
    expect(copies.map((c) => c.input.QueueUrl)).toEqual([h.deps.dlqUrl, h.deps.dlqUrl]);
    expect(metricTotal(h.telemetry.metrics, 'TurnsDeadLettered')).toBe(2);
    // Each attempt stopped the typing it showed (a keep-alive restarted the long-lapsed bubble first).
    const actions = h.enqueued.flatMap((s) => s.steps.map((x) => JSON.stringify(x.action)));
    expect(actions.filter((a) => a === '{"sender_action":"typing_off"}')).toHaveLength(2);
    expect(actions.at(-1)).toBe('{"sender_action":"typing_off"}');
    expect(actions.some((a) => a.includes('message'))).toBe(false);
  });

  it('dead-letters a turn at once when its failure cannot succeed on retry (an LLM 401)', async () => {
    const h = harness(() => {
      throw new LlmRequestError('LLM endpoint answered 401 (check LLM_API_KEY)', 401);
    });
    const old = NOW - 60_000;
    const res = await processTurns([record('a', 'U', old, 1), record('b', 'U', old, 1)], h.deps);
    expect(res.batchItemFailures).toEqual([]);
    expect(h.sent.some((c) => c instanceof ChangeMessageVisibilityCommand)).toBe(false);
    const copies = h.sent.filter((c) => c instanceof SendMessageCommand) as SendMessageCommand[];
    expect(copies.map((c) => [c.input.QueueUrl, c.input.MessageDeduplicationId])).toEqual([
      [h.deps.dlqUrl, 'msg-a'],
      [h.deps.dlqUrl, 'msg-b'],
    ]);
    expect(copies[0]?.input.MessageAttributes?.EllipsisReason?.StringValue).toBe(
      'responder failure not retryable',
    );
    const deletes = h.sent.filter(
      (c) => c instanceof DeleteMessageBatchCommand,
    ) as DeleteMessageBatchCommand[];
    expect(deletes.flatMap((d) => d.input.Entries?.map((e) => e.ReceiptHandle))).toEqual(['rh-a', 'rh-b']);
    expect(metricTotal(h.telemetry.metrics, 'TurnsNotRetried')).toBe(1);
    expect(metricTotal(h.telemetry.metrics, 'TurnsDeadLettered')).toBe(2);
    const log = h.telemetry.logs.find((l) => l.message.includes('cannot succeed on retry'));
    expect(log?.attributes).toMatchObject({ eventIds: ['a', 'b'], receiveCount: 1 });
    const actions = h.enqueued.flatMap((s) => s.steps.map((x) => JSON.stringify(x.action)));
    expect(actions.at(-1)).toBe('{"sender_action":"typing_off"}');
  });

  it('never deletes a dead-lettered turn whose copy failed for one message: all of it comes back', async () => {
    const h = harness(() => {
      throw new LlmRequestError('LLM endpoint answered 401 (check LLM_API_KEY)', 401);
    });
    const send = (h.deps.sqs as { send: (c: unknown) => Promise<unknown> }).send;
    h.deps.sqs = {
      send: async (command: unknown) => {
        const source = command instanceof SendMessageCommand ? command.input.MessageDeduplicationId : '';
        if (source === 'msg-b') throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
        return send(command as never);
      },
    } as never;
    const old = NOW - 60_000;
    const res = await processTurns(
      [record('a', 'U', old, 1), record('b', 'U', old, 1), record('c', 'U', old, 1)],
      h.deps,
    );
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['msg-a', 'msg-b', 'msg-c']);
    expect(h.sent.some((c) => c instanceof DeleteMessageBatchCommand)).toBe(false);
    const changes = h.sent.filter((c) => c instanceof ChangeMessageVisibilityCommand);
    expect(changes).toHaveLength(3);
  });

  it('does not retry a turn that already sent part of its answer (the user saw it)', async () => {
    const h = harness(async function* () {
      yield { message: { text: 'part one' } };
      throw new Error('stream reset');
    });
    const res = await processTurns([record('a', 'U', NOW - 60_000)], h.deps);
    expect(res.batchItemFailures).toEqual([]);
    expect(metricTotal(h.telemetry.metrics, 'ResponderErrors')).toBe(1);
  });

  it('dead-letters an undecodable body and still answers the rest of the group', async () => {
    const h = harness(() => [{ message: { text: 'ok' } }]);
    const poison = { ...record('x', 'U', 0), body: '{"v":1}' };
    const res = await processTurns([poison, record('a', 'U', NOW - 60_000)], h.deps);
    expect(res.batchItemFailures).toEqual([]);
    expect(h.sent.filter((c) => c instanceof SendMessageCommand)).toHaveLength(1);
    expect(h.enqueued.some((s) => s.sequenceId.startsWith('a~'))).toBe(true);
  });

  it('runs users concurrently: a slow responder does not hold up another user’s reply', async () => {
    let releaseSlow: () => void = () => {};
    const h = harness((event) =>
      event.psid === 'SLOW'
        ? new Promise((resolve) => {
            releaseSlow = () => resolve([{ message: { text: 'slow' } }]);
          })
        : [{ message: { text: 'fast' } }],
    );
    const old = NOW - 60_000;
    const done = processTurns([record('s', 'SLOW', old), record('f', 'FAST', old)], h.deps);
    const answered = () =>
      h.enqueued.filter((s) => s.steps.some((x) => 'message' in x.action)).map((s) => s.psid);
    await new Promise((r) => setTimeout(r, 20));
    expect(answered()).toEqual(['FAST']);
    // Its records are already deleted: the fast user's next message need not wait for the slow turn.
    const deletes = h.sent.filter(
      (c) => c instanceof DeleteMessageBatchCommand,
    ) as DeleteMessageBatchCommand[];
    expect(deletes.flatMap((d) => d.input.Entries?.map((e) => e.ReceiptHandle))).toEqual(['rh-f']);
    releaseSlow();
    await done;
    expect(answered()).toEqual(['FAST', 'SLOW']);
  });
});

describe('processTurns under a user hold', () => {
  it('a hold written after the watch last read still withholds the turn: the bot has not spoken', async () => {
    const state = memoryConversationState();
    const group = groupIdOf(inboundEvent({ psid: 'U' }).pageId, 'U');
    const h = harness(async () => {
      // A person answers while the responder thinks; the watch (polling once an hour) never sees it.
      await state.hold(group, { through: Date.now() + 60_000, reason: 'person', at: Date.now() });
      return [{ message: { text: 'too late' } }];
    });
    const old = NOW - policy.RESPONDER_QUIET_MS - 1;
    const hold = { state, pollMs: 3_600_000, disclosure: { text: 'I am a bot', afterMs: 86_400_000 } };
    const res = await processTurns([record('a', 'U', old)], { ...h.deps, hold });
    expect(res.batchItemFailures).toEqual([]);
    expect(metricTotal(h.telemetry.metrics, 'TurnsWithheld')).toBe(1);
    // Not noted as the bot's message: the next one after the person still discloses.
    expect((await state.read(group)).lastBotAt).toBeUndefined();
  });
});
