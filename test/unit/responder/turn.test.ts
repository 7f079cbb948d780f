import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LlmRequestError, LlmUnavailableError } from '../../../lib/bots/llm/errors.ts';
import type { Responder } from '../../../lib/bots/responder.ts';
import { loadPlanConfig, type PlanConfig } from '../../../lib/pacing/config.ts';
import { keepAlive, paceReply, typingMs } from '../../../lib/pacing/plan.ts';
import { ConfigError, EllipsisError } from '../../../lib/platform/errors.ts';
import type { InboundEvent } from '../../../lib/queue/inbound.ts';
import type { QueuedInbound } from '../../../lib/queue/inbound-codec.ts';
import { dedupIdOf, queuedStepsOf, type SequenceToEnqueue } from '../../../lib/queue/producer.ts';
import type { Reply } from '../../../lib/queue/reply.ts';
import { actionKind } from '../../../lib/queue/step.ts';
import { turnPolicySchema } from '../../../lib/responder/config.ts';
import {
  decideFailure,
  decideTurn,
  initialPace,
  isRetryableFailure,
  preludeTypingAt,
} from '../../../lib/responder/turn.ts';
import { runTurn, turnSequenceId } from '../../../lib/responder/turn-runner.ts';
import { fakeClock } from '../../support/fake-clock.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';

const config: PlanConfig = { ...loadPlanConfig({}), PLAN_JITTER: 0 };
const policy = turnPolicySchema.parse({});
const T0 = 1_700_000_000_000;
const say = (text: string): Reply => ({ message: { text } });

const inbound = (i: number, receivedAt = T0, typingAfter: number | null = 600): QueuedInbound => {
  const event: InboundEvent = {
    channel: 'messenger',
    kind: 'message',
    pageId: 'PAGE',
    psid: 'USER',
    timestamp: receivedAt,
    eventId: `m_${i}`,
    mid: `m_${i}`,
    text: `message ${i}`,
    attachments: [],
  };
  return {
    v: 1,
    event,
    receivedAt,
    ...(typingAfter === null ? {} : { typingAt: receivedAt + typingAfter }),
  };
};

/** Every enqueued step with its planned absolute time (the producer's dueAt). */
const timeline = (sequences: readonly SequenceToEnqueue[]) =>
  sequences.flatMap((seq) => queuedStepsOf(seq).map((q) => ({ at: q.dueAt, kind: actionKind(q.action) })));

const run = async (
  responder: Responder,
  options: {
    inbounds?: QueuedInbound[];
    fallback?: Reply;
    clock?: ReturnType<typeof fakeClock>;
    attempt?: number;
  } = {},
) => {
  const clock = options.clock ?? fakeClock(T0);
  const enqueued: SequenceToEnqueue[] = [];
  const telemetry = memoryTelemetry();
  const inbounds = options.inbounds ?? [inbound(1)];
  const outcome = await runTurn(
    inbounds,
    { attempt: options.attempt ?? 1, deadlineAt: T0 + policy.RESPONDER_MAX_THINKING_MS },
    {
      responder: (event, turn) => responder(event, { ...turn }),
      enqueue: async (seq) => {
        enqueued.push(seq);
      },
      planConfig: config,
      ...(options.fallback ? { fallback: options.fallback } : {}),
      now: clock.now,
      sleep: clock.sleep,
      telemetry,
    },
  );
  return { outcome, enqueued, telemetry, clock, steps: timeline(enqueued) };
};

describe('paceReply: typing already shown counts (real time, PLAN_TIME_SCALE 1)', () => {
  const reply = say('Your order ships tomorrow.');
  const typing = Math.round(typingMs(reply, config));
  const shown = { lastDueAt: T0, typingSince: T0, refreshedAt: T0, replies: 0 };

  it('sends a slow answer at once: thinking 10 s for a 3 s typing plan adds no typing on top', () => {
    const now = T0 + 10_000;
    const { paced } = paceReply({ ...shown, refreshedAt: T0 + 9_000 }, reply, now, 's', config);
    expect(paced.steps.map((s) => [actionKind(s.action), s.delayMs])).toEqual([['message', 0]]);
    expect(paced.plannedAt).toBe(now);
  });

  it('still shows the natural typing time for a 0.2 s answer, counted from when typing started', () => {
    const { paced } = paceReply(shown, reply, T0 + 200, 's', config);
    const [message] = paced.steps;
    expect(actionKind(message!.action)).toBe('message');
    expect(paced.plannedAt + message!.delayMs).toBe(T0 + typing);
  });

  it('waits for a prelude typing_on still to come (fast responder during the reading pause)', () => {
    const pending = { lastDueAt: T0 + 2_000, typingSince: T0 + 2_000, refreshedAt: T0 + 2_000, replies: 0 };
    const { paced } = paceReply(pending, reply, T0 + 50, 's', config);
    expect(paced.plannedAt).toBe(T0 + 2_000);
    expect(paced.steps.map((s) => s.delayMs)).toEqual([typing]);
  });

  it('starts typing after the between-replies pause when no bubble shows', () => {
    const after = { lastDueAt: T0, replies: 1 };
    const { paced } = paceReply(after, reply, T0, 's', config);
    expect(paced.steps.map((s) => [actionKind(s.action), s.delayMs])).toEqual([
      ['typing_on', config.PLAN_BETWEEN_REPLIES_MS],
      ['message', typing],
    ]);
  });
});

describe('keepAlive', () => {
  it('refreshes the bubble every PLAN_TYPING_REFRESH_MS (18 s < Messenger ~20 s) in real time', () => {
    let pace = initialPace([inbound(1)]);
    const sent: number[] = [];
    // The runner sleeps until nextAt (or until the responder answers, which only makes refreshes earlier).
    for (let now = T0; now < T0 + 300_000; ) {
      const alive = keepAlive(pace, now, config);
      if (alive.paced) sent.push(now);
      pace = alive.pace;
      now = Math.max(now + 1, alive.nextAt);
    }
    const all = [T0 + 600, ...sent];
    const gaps = all.slice(1).map((t, i) => t - (all[i] ?? 0));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(config.PLAN_TYPING_REFRESH_MS);
    expect(Math.max(...gaps)).toBeLessThan(20_000);
  });
});

describe('runTurn', () => {
  it('keeps typing on through a 25 s think, then answers at once (its typing time is long shown)', async () => {
    const clock = fakeClock(T0);
    const { outcome, steps } = await run(
      async () => {
        await clock.wait(25_000);
        return [say('Found it: order #1234 ships tomorrow.')];
      },
      { clock },
    );
    expect(outcome).toEqual({ kind: 'answered', replies: 1 });
    expect(steps.map((s) => s.kind)).toEqual(['typing_on', 'message']);
    const bubble = [T0 + 600, ...steps.filter((s) => s.kind === 'typing_on').map((s) => s.at)];
    const message = steps.find((s) => s.kind === 'message')!.at;
    const gaps = [...bubble, message].slice(1).map((t, i) => t - (bubble[i] ?? 0));
    expect(Math.max(...gaps)).toBeLessThan(20_000);
    expect(message).toBe(T0 + 25_000);
  });

  it('answers a 0 s responder after the natural typing time, with no extra Graph calls', async () => {
    const reply = say('Hi!');
    const { steps } = await run(() => [reply]);
    expect(steps).toEqual([{ at: T0 + 600 + Math.round(typingMs(reply, config)), kind: 'message' }]);
  });

  it('paces a stream of 3 chunks as 3 bubbles, each as soon as it exists, typing kept on between', async () => {
    const clock = fakeClock(T0);
    const { outcome, enqueued, steps } = await run(
      () =>
        (async function* () {
          for (const text of ['First part.', 'Second part.', 'Third part.']) {
            await clock.wait(8_000);
            yield say(text);
          }
        })(),
      { clock },
    );
    expect(outcome).toEqual({ kind: 'answered', replies: 3 });
    expect(steps.filter((s) => s.kind === 'message')).toHaveLength(3);
    expect(steps.at(-1)?.kind).toBe('message');
    // Before each later message a typing_on (restarted after the pause): no bubble-less stretch.
    const kinds = steps.map((s) => s.kind);
    kinds.forEach((k, i) => {
      if (k === 'message') expect(kinds[i - 1] ?? 'typing_on').toBe('typing_on');
    });
    expect(enqueued.length).toBeGreaterThanOrEqual(3);
  });

  it('switches typing off and reports the failure when the responder throws', async () => {
    const { outcome, steps, telemetry } = await run(() => {
      throw new Error('CRM down');
    });
    expect(outcome.kind).toBe('failed');
    expect(steps.map((s) => s.kind)).toEqual(['typing_off']);
    expect(metricTotal(telemetry.metrics, 'ResponderErrors')).toBe(1);
    expect(telemetry.logs.find((l) => l.level === 'error')?.attributes).toMatchObject({ eventId: 'm_1' });
  });

  it('switches typing off when the responder has nothing to say', async () => {
    const { outcome, steps } = await run(() => []);
    expect(outcome).toEqual({ kind: 'silent' });
    expect(steps.map((s) => s.kind)).toEqual(['typing_off']);
  });

  it('stops at the maximum thinking time: typing kept on until then, the fallback, the signal aborted', async () => {
    let aborted = false;
    const { outcome, steps } = await run(
      (_e, turn) =>
        new Promise<Reply[]>(() => {
          turn.signal.addEventListener('abort', () => {
            aborted = true;
          });
        }),
      { fallback: say('Sorry, this takes longer than it should.') },
    );
    expect(outcome.kind).toBe('timed_out');
    expect(aborted).toBe(true);
    expect(steps.at(-1)).toMatchObject({ kind: 'message', at: T0 + policy.RESPONDER_MAX_THINKING_MS });
    const typings = [T0 + 600, ...steps.filter((s) => s.kind === 'typing_on').map((s) => s.at)];
    expect(Math.max(...typings.slice(1).map((t, i) => t - (typings[i] ?? 0)))).toBeLessThan(20_000);
  });

  it('drops invalid replies and keeps the valid ones', async () => {
    const bad = [{ message: { text: '' } }, 'nope'] as unknown as Reply[];
    const { outcome, telemetry } = await run(() => [...bad, say('ok')]);
    expect(outcome).toEqual({ kind: 'answered', replies: 1 });
    expect(metricTotal(telemetry.metrics, 'InvalidReplies')).toBe(2);
  });

  it('hands the responder every message of the turn, oldest first; the event is the last', async () => {
    const seen: string[][] = [];
    await run(
      (event, turn) => {
        seen.push([...turn.events.map((e) => e.eventId), `last:${event.eventId}`]);
        return [];
      },
      { inbounds: [inbound(1), inbound(2, T0 + 500), inbound(3, T0 + 1_200)] },
    );
    expect(seen).toEqual([['m_1', 'm_2', 'm_3', 'last:m_3']]);
  });
});

describe('turnSequenceId: the same turn, the same reply ids on every run', () => {
  it('numbers replies by turn, indicators by attempt, and tells turns of other events apart', () => {
    const ids = ['m_1', 'm_2'];
    expect(turnSequenceId(ids, 1, { replyFrom: 1 })).toBe(turnSequenceId(ids, 4, { replyFrom: 1 }));
    expect(turnSequenceId(ids, 1, { replyFrom: 1 })).toMatch(/^m_2~[0-9a-f]{16}\.r1$/);
    expect(turnSequenceId(ids, 1, { replyFrom: 2 })).not.toBe(turnSequenceId(ids, 1, { replyFrom: 1 }));
    expect(turnSequenceId(ids, 1, { indicator: 1 })).not.toBe(turnSequenceId(ids, 2, { indicator: 1 }));
    expect(turnSequenceId(ids, 1, { indicator: 1 })).not.toBe(turnSequenceId(ids, 1, { replyFrom: 1 }));
    // A turn redelivered with a newer message is another turn: it answers that message too.
    expect(turnSequenceId([...ids, 'm_3'], 1, { replyFrom: 1 })).not.toMatch(/^m_2~/);
  });

  it('property: ids are deterministic, distinct per (kind, number), and fit the 200-character sequence id', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 1, maxLength: 100 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 50 }),
        (ids, attempt, n) => {
          const reply = turnSequenceId(ids, attempt, { replyFrom: n });
          expect(reply).toBe(turnSequenceId([...ids], attempt + 1, { replyFrom: n }));
          expect(reply).not.toBe(turnSequenceId(ids, attempt, { replyFrom: n + 1 }));
          expect(turnSequenceId(ids, attempt, { indicator: n }).length).toBeLessThanOrEqual(200);
        },
      ),
    );
  });

  it('a turn run twice (a crash, then the redelivery) enqueues its replies under identical dedup ids', async () => {
    const stream: Responder = async function* () {
      yield say('Looking at your order.');
      yield say('It ships tomorrow.');
    };
    const inbounds = [inbound(1), inbound(2)];
    const first = await run(stream, { inbounds, attempt: 1 });
    const rerun = await run(stream, { inbounds, attempt: 2 });
    const dedupIds = (seqs: readonly SequenceToEnqueue[], wanted: 'message' | 'indicator') =>
      seqs
        .filter((seq) => seq.steps.some((s) => 'message' in s.action) === (wanted === 'message'))
        .flatMap((seq) => queuedStepsOf(seq).map((q) => dedupIdOf(q.sequenceId, q.index)));
    expect(first.enqueued.filter((seq) => seq.steps.some((s) => 'message' in s.action))).toHaveLength(2);
    expect(dedupIds(rerun.enqueued, 'message')).toEqual(dedupIds(first.enqueued, 'message'));
    // The rerun's typing is its own (shown again), and its steps ask the sender to check what went out.
    const firstIndicators = new Set(dedupIds(first.enqueued, 'indicator'));
    expect(dedupIds(rerun.enqueued, 'indicator').some((id) => firstIndicators.has(id))).toBe(false);
    expect(first.enqueued.every((seq) => seq.replayed === undefined)).toBe(true);
    expect(rerun.enqueued.every((seq) => seq.replayed === true)).toBe(true);
  });
});

describe('decideFailure: retry only what retrying can fix', () => {
  it('tells a configuration error from a busy endpoint', () => {
    expect(
      isRetryableFailure(new LlmRequestError('LLM endpoint answered 401 (check LLM_API_KEY)', 401)),
    ).toBe(false);
    expect(isRetryableFailure(new ConfigError('LLM_MODEL is missing'))).toBe(false);
    expect(isRetryableFailure(new LlmUnavailableError('LLM endpoint answered 503', 503))).toBe(true);
    expect(isRetryableFailure(new EllipsisError('something'))).toBe(true);
    expect(isRetryableFailure(new Error('CRM timeout'))).toBe(true);
    expect(isRetryableFailure('thrown string')).toBe(true);
  });

  it('dead-letters a non-retryable failure on its first receive, a retryable one only on the final receive', () => {
    const refused = new LlmRequestError('LLM endpoint answered 401', 401);
    expect(decideFailure(refused, 1, false, policy, () => 1)).toEqual({
      kind: 'dead-letter',
      reason: 'not_retryable',
    });
    const down = new LlmUnavailableError('LLM endpoint answered 503', 503);
    expect(decideFailure(down, 3, false, policy, () => 1)).toEqual({
      kind: 'retry',
      visibilitySeconds: policy.RESPONDER_RETRY_BASE_SECONDS * 4,
    });
    expect(decideFailure(down, 10, true, policy, () => 1)).toEqual({
      kind: 'dead-letter',
      reason: 'kept_failing',
    });
  });
});

describe('decideTurn and the prelude timeline', () => {
  it('waits for the quiet window after the newest message, at most RESPONDER_MAX_DEFERRALS times', () => {
    const turn = { inbounds: [inbound(1), inbound(2, T0 + 1_500)], receiveCount: 1 };
    expect(decideTurn(turn, T0 + 1_600, policy)).toEqual({ kind: 'defer', visibilitySeconds: 2 });
    expect(decideTurn(turn, T0 + 1_500 + policy.RESPONDER_QUIET_MS, policy).kind).toBe('run');
    const tired = { ...turn, receiveCount: policy.RESPONDER_MAX_DEFERRALS + 1 };
    expect(decideTurn(tired, T0 + 1_600, policy).kind).toBe('run');
  });

  it('chains the preludes as the sender runs them: each seen after the previous typing_on', () => {
    expect(preludeTypingAt([inbound(1, T0, 3_000), inbound(2, T0 + 1_000, 600)])).toBe(T0 + 3_600);
    expect(preludeTypingAt([inbound(1, T0, null)])).toBeUndefined();
  });

  it('property: every inbound message reaches the responder exactly once, in order, whatever the timing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 4_000 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 10 }),
        async (gaps, batchSize) => {
          // A simulated FIFO group: messages arrive after `gaps`; each receive hands out up to batchSize waiting.
          const arrivals: number[] = [];
          for (const g of gaps) arrivals.push((arrivals.at(-1) ?? T0) + g);
          const queue = arrivals.map((at, i) => ({ inbound: inbound(i, at), receives: 0 }));
          const answered: string[] = [];
          let now = T0;
          let visibleAt = T0;
          for (let guard = 0; queue.length > 0 && guard < 1_000; guard++) {
            now = Math.max(now + 100, visibleAt);
            const waiting = queue.filter((m) => m.inbound.receivedAt <= now).slice(0, batchSize);
            if (waiting.length === 0) continue;
            for (const m of waiting) m.receives += 1;
            const decision = decideTurn(
              { inbounds: waiting.map((m) => m.inbound), receiveCount: waiting[0]!.receives },
              now,
              policy,
            );
            if (decision.kind === 'defer') {
              visibleAt = now + decision.visibilitySeconds * 1000;
              continue;
            }
            answered.push(...waiting.map((m) => m.inbound.event.eventId));
            queue.splice(0, waiting.length);
          }
          expect(answered).toEqual(arrivals.map((_, i) => `m_${i}`));
        },
      ),
    );
  });
});
