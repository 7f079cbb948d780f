import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPlanConfig, type PlanConfig, planConfigSchema } from '../../../lib/pacing/config.ts';
import {
  countWords,
  planSequence,
  readingMs,
  timelineOf,
  typingMs,
  typingMsForLength,
  unitNoise,
} from '../../../lib/pacing/plan.ts';
import { countGraphemes } from '../../../lib/pacing/words.ts';
import type { Reply } from '../../../lib/queue/reply.ts';
import { actionKind, MAX_STEP_DELAY_MS, type Step, stepSchema } from '../../../lib/queue/step.ts';

const defaults = loadPlanConfig({});
const noJitter: PlanConfig = { ...defaults, PLAN_JITTER: 0 };

const textReply = (text: string): Reply => ({ message: { text } });

const replyArb: fc.Arbitrary<Reply> = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 400 }).map(textReply) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('image', 'audio', 'video', 'file')
      .map(
        (type): Reply => ({ message: { attachment: { type, payload: { url: 'https://example.com/a' } } } }),
      ),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('❤', '😍', '👍')
      .map((reaction): Reply => ({ sender_action: 'react', payload: { message_id: 'm_1', reaction } })),
  },
  { weight: 1, arbitrary: fc.constant<Reply>({ sender_action: 'unreact', payload: { message_id: 'm_1' } }) },
);

/** Any configuration the env schema accepts within sane ranges (min may exceed max: clamping copes). */
const configArb: fc.Arbitrary<PlanConfig> = fc
  .record({
    PLAN_READ_WPM: fc.integer({ min: 50, max: 1000 }),
    PLAN_READ_MIN_MS: fc.integer({ min: 0, max: 5000 }),
    PLAN_READ_MAX_MS: fc.integer({ min: 0, max: 60_000 }),
    PLAN_TYPING_CPM: fc.integer({ min: 30, max: 3000 }),
    PLAN_TYPING_MIN_MS: fc.integer({ min: 0, max: 5000 }),
    PLAN_TYPING_MAX_MS: fc.integer({ min: 0, max: 120_000 }),
    PLAN_ATTACHMENT_TYPING_MS: fc.integer({ min: 0, max: 60_000 }),
    PLAN_BETWEEN_REPLIES_MS: fc.integer({ min: 0, max: 5000 }),
    PLAN_JITTER: fc.double({ min: 0, max: 0.5, noNaN: true }),
    PLAN_TYPING_REFRESH_MS: fc.integer({ min: 1000, max: 20_000 }),
    PLAN_TIME_SCALE: fc.oneof(fc.constant(1), fc.double({ min: 0.001, max: 5, noNaN: true })),
  })
  .map((c) => planConfigSchema.parse(c));

const inputArb = fc.record({
  seed: fc.string({ minLength: 1, maxLength: 40 }),
  inboundText: fc.option(fc.string({ unit: 'grapheme', maxLength: 600 }), { nil: undefined }),
  replies: fc.array(replyArb, { minLength: 1, maxLength: 6 }),
});

const kinds = (steps: readonly Step[]) => steps.map((s) => actionKind(s.action));

/** Total typing shown before the message at `messageIndex`: the delays from its first typing_on on. */
const typingBefore = (steps: readonly Step[], messageIndex: number): number => {
  let total = steps[messageIndex]?.delayMs ?? 0;
  for (let i = messageIndex - 1; i > 0 && kinds(steps)[i - 1] === 'typing_on'; i--)
    total += steps[i]?.delayMs ?? 0;
  return total;
};

describe('planSequence structure', () => {
  it('plans nothing at all (not even mark_seen) when there is nothing to say', () => {
    fc.assert(
      fc.property(fc.string(), configArb, (seed, config) => {
        expect(planSequence({ seed, inboundText: 'hi', replies: [] }, config)).toEqual([]);
      }),
    );
  });

  it('starts with mark_seen, puts typing_on right before each message, and keeps the replies in order', () => {
    fc.assert(
      fc.property(inputArb, configArb, (input, config) => {
        const steps = planSequence(input, config);
        const k = kinds(steps);
        expect(steps[0]).toEqual({ action: { sender_action: 'mark_seen' }, delayMs: 0 });
        expect(k.filter((x) => x === 'mark_seen')).toHaveLength(1);
        // Replies come out in order and unchanged; everything else is a typing indicator.
        const replySteps = steps.filter((s) => !['mark_seen', 'typing_on'].includes(actionKind(s.action)));
        expect(replySteps.map((s) => s.action)).toEqual(input.replies);
        k.forEach((kind, i) => {
          if (kind === 'message') expect(k[i - 1]).toBe('typing_on');
          if (kind === 'typing_on') expect(['typing_on', 'message']).toContain(k[i + 1]);
          if (kind === 'react' || kind === 'unreact') expect(k[i - 1]).not.toBe('typing_on');
        });
        expect(k.at(-1)).toBe(actionKind(input.replies.at(-1) as Reply));
        expect(k).not.toContain('typing_off');
      }),
    );
  });

  it('only produces steps the queue schema accepts: integer delays in [0, 15 min]', () => {
    fc.assert(
      fc.property(inputArb, configArb, (input, config) => {
        for (const step of planSequence(input, config)) {
          expect(stepSchema.safeParse(step).success).toBe(true);
          expect(Number.isInteger(step.delayMs)).toBe(true);
          expect(step.delayMs).toBeLessThanOrEqual(MAX_STEP_DELAY_MS);
          if ('message' in step.action || 'payload' in step.action)
            expect(step.skippableAfterMs).toBeUndefined();
        }
      }),
    );
  });

  it('lets a typing_on be skipped once its message is due: skippableAfterMs is the time left until it', () => {
    fc.assert(
      fc.property(inputArb, configArb, (input, config) => {
        const steps = planSequence(input, config);
        steps.forEach((step, i) => {
          if (actionKind(step.action) !== 'typing_on') return;
          let j = i + 1;
          let untilMessage = 0;
          while (j < steps.length && actionKind(steps[j]!.action) === 'typing_on')
            untilMessage += steps[j++]!.delayMs;
          untilMessage += steps[j]!.delayMs;
          // Each chunk is rounded on its own: allow 1 ms per chunk.
          expect(Math.abs((step.skippableAfterMs ?? -1) - untilMessage)).toBeLessThanOrEqual(j - i);
        });
      }),
    );
  });

  it('refreshes typing so no gap after a typing_on exceeds the refresh interval', () => {
    fc.assert(
      fc.property(inputArb, configArb, (input, config) => {
        const steps = planSequence(input, config);
        const limit = Math.ceil(config.PLAN_TYPING_REFRESH_MS * Math.min(1, config.PLAN_TIME_SCALE));
        steps.forEach((step, i) => {
          if (actionKind(step.action) === 'typing_on')
            expect(steps[i + 1]!.delayMs).toBeLessThanOrEqual(limit);
        });
      }),
    );
  });

  it('inserts typing_on refreshes for a long typing time (Messenger drops the bubble after ~20 s)', () => {
    const config = { ...noJitter, PLAN_TYPING_MAX_MS: 50_000, PLAN_TYPING_CPM: 60 };
    const steps = planSequence({ seed: 's', replies: [textReply('x'.repeat(45))] }, config);
    // 45 s of typing in 18 s-or-less chunks: typing_on + 2 refreshes, each 15 s.
    expect(kinds(steps)).toEqual(['mark_seen', 'typing_on', 'typing_on', 'typing_on', 'message']);
    expect(steps.slice(2).map((s) => s.delayMs)).toEqual([15_000, 15_000, 15_000]);
    expect(steps.slice(1, 4).map((s) => s.skippableAfterMs)).toEqual([45_000, 30_000, 15_000]);
  });

  it('waits the reading pause before the first reply and the between-replies pause before later ones', () => {
    const steps = planSequence(
      { seed: 's', inboundText: 'hi', replies: [textReply('one'), textReply('two')] },
      noJitter,
    );
    expect(kinds(steps)).toEqual(['mark_seen', 'typing_on', 'message', 'typing_on', 'message']);
    expect(steps[1]!.delayMs).toBe(noJitter.PLAN_READ_MIN_MS);
    expect(steps[3]!.delayMs).toBe(noJitter.PLAN_BETWEEN_REPLIES_MS);
  });

  it('sends a reaction without typing: after the reading pause if first, a short pause otherwise', () => {
    const react: Reply = { sender_action: 'react', payload: { message_id: 'm_1', reaction: '❤' } };
    const first = planSequence({ seed: 's', replies: [react, textReply('ok')] }, noJitter);
    expect(kinds(first)).toEqual(['mark_seen', 'react', 'typing_on', 'message']);
    expect(first[1]!.delayMs).toBe(noJitter.PLAN_READ_MIN_MS);
    expect(first[2]!.delayMs).toBe(noJitter.PLAN_BETWEEN_REPLIES_MS);
    const last = planSequence({ seed: 's', replies: [textReply('ok'), react] }, noJitter);
    expect(kinds(last)).toEqual(['mark_seen', 'typing_on', 'message', 'react']);
    expect(last[3]!.delayMs).toBe(noJitter.PLAN_BETWEEN_REPLIES_MS);
  });
});

describe('typing and reading model', () => {
  it('types longer texts for no less time (without jitter), within [min, max]', () => {
    fc.assert(
      fc.property(fc.nat(5000), fc.nat(5000), configArb, (a, b, config) => {
        const [short, long] = a <= b ? [a, b] : [b, a];
        expect(typingMsForLength(short, config)).toBeLessThanOrEqual(typingMsForLength(long, config));
        if (config.PLAN_TYPING_MIN_MS <= config.PLAN_TYPING_MAX_MS) {
          expect(typingMsForLength(a, config)).toBeGreaterThanOrEqual(config.PLAN_TYPING_MIN_MS);
          expect(typingMsForLength(a, config)).toBeLessThanOrEqual(config.PLAN_TYPING_MAX_MS);
        }
      }),
    );
  });

  it('shows typing for a time non-decreasing in reply length in a jitter-free plan', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 2000 }), (a, b) => {
        const [short, long] = a <= b ? [a, b] : [b, a];
        const typed = (n: number) =>
          timelineOf(planSequence({ seed: 's', replies: [textReply('a'.repeat(n))] }, noJitter));
        expect(typed(short).typingMs).toBeLessThanOrEqual(typed(long).typingMs);
      }),
    );
  });

  it('keeps jittered typing within [min·(1−J), max·(1+J)]', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 2000 }),
        configArb,
        (seed, text, c) => {
          const config = { ...c, PLAN_TIME_SCALE: 1 };
          fc.pre(config.PLAN_TYPING_MIN_MS <= config.PLAN_TYPING_MAX_MS);
          const steps = planSequence({ seed, replies: [textReply(text)] }, config);
          const typed = typingBefore(steps, steps.length - 1);
          const chunks = kinds(steps).filter((k) => k === 'typing_on').length;
          expect(typed).toBeGreaterThanOrEqual(
            Math.floor(config.PLAN_TYPING_MIN_MS * (1 - config.PLAN_JITTER)) - chunks,
          );
          expect(typed).toBeLessThanOrEqual(
            Math.ceil(config.PLAN_TYPING_MAX_MS * (1 + config.PLAN_JITTER)) + chunks,
          );
        },
      ),
    );
  });

  it('counts user-perceived characters: an emoji with skin tone or a ZWJ family types like one letter', () => {
    expect(countGraphemes('👍🏽')).toBe(1);
    expect(countGraphemes('👨‍👩‍👧')).toBe(1);
    expect(countGraphemes('e\u0301')).toBe(1);
    expect(countGraphemes('🇫🇷 ok')).toBe(4);
    const slow = { ...noJitter, PLAN_TYPING_MIN_MS: 0, PLAN_TYPING_CPM: 60 };
    expect(typingMs(textReply('👨‍👩‍👧'), slow)).toBe(typingMs(textReply('a'), slow));
  });

  it('counts words the way a reader does, including scripts without spaces', () => {
    expect(countWords("Hello, world! Don't panic.")).toBe(4);
    expect(countWords('👋 👋')).toBe(0);
    expect(countWords('こんにちは世界')).toBeGreaterThanOrEqual(2);
  });

  it('reads at PLAN_READ_WPM, clamped; no text reads for the minimum', () => {
    const wide = { ...noJitter, PLAN_READ_MIN_MS: 0, PLAN_READ_MAX_MS: 10 * 60_000, PLAN_READ_WPM: 240 };
    expect(readingMs('word '.repeat(240), wide)).toBe(60_000);
    expect(readingMs(undefined, noJitter)).toBe(noJitter.PLAN_READ_MIN_MS);
    expect(readingMs('hi', noJitter)).toBe(noJitter.PLAN_READ_MIN_MS);
    expect(readingMs('word '.repeat(5000), noJitter)).toBe(noJitter.PLAN_READ_MAX_MS);
  });

  it('gives attachments the attachment typing time whatever their type', () => {
    const reply: Reply = {
      message: { attachment: { type: 'image', payload: { url: 'https://example.com/x.png' } } },
    };
    expect(typingMs(reply, noJitter)).toBe(noJitter.PLAN_ATTACHMENT_TYPING_MS);
  });
});

describe('jitter and time scale', () => {
  it('plans the same sequence for the same input (a redelivered event is planned identically)', () => {
    fc.assert(
      fc.property(inputArb, configArb, (input, config) => {
        expect(planSequence(input, config)).toEqual(planSequence(structuredClone(input), { ...config }));
      }),
    );
  });

  it('varies durations across seeds when jitter is on, and not at all when it is off', () => {
    const replies = [textReply('Hello there, how are you?')];
    const plans = ['a', 'b', 'c', 'd', 'e'].map((seed) =>
      JSON.stringify(planSequence({ seed, replies }, defaults)),
    );
    expect(new Set(plans).size).toBeGreaterThan(1);
    const flat = ['a', 'b', 'c'].map((seed) => JSON.stringify(planSequence({ seed, replies }, noJitter)));
    expect(new Set(flat).size).toBe(1);
  });

  it('draws the noise from [-1, 1]', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (seed, key) => {
        const u = unitNoise(seed, key);
        expect(u).toBeGreaterThanOrEqual(-1);
        expect(u).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('multiplies every delay by PLAN_TIME_SCALE (up to rounding) without changing the steps', () => {
    fc.assert(
      fc.property(inputArb, configArb, fc.double({ min: 0, max: 1, noNaN: true }), (input, c, scale) => {
        const config = { ...c, PLAN_TIME_SCALE: 1 };
        const full = planSequence(input, config);
        const scaled = planSequence(input, { ...config, PLAN_TIME_SCALE: scale });
        expect(scaled.map((s) => s.action)).toEqual(full.map((s) => s.action));
        scaled.forEach((step, i) => {
          expect(Math.abs(step.delayMs - full[i]!.delayMs * scale)).toBeLessThanOrEqual(1);
        });
      }),
    );
  });

  it('plans an all-zero sequence at time scale 0', () => {
    const steps = planSequence(
      { seed: 's', replies: [textReply('hello')] },
      { ...defaults, PLAN_TIME_SCALE: 0 },
    );
    expect(steps.map((s) => s.delayMs)).toEqual([0, 0, 0]);
  });
});

describe('default pacing feels natural', () => {
  it('shows a single reply 1–12 s after the message: never a flicker, never a stall', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const t = timelineOf(planSequence({ ...input, replies: input.replies.slice(0, 1) }, defaults));
        // Nominal worst case READ_MAX + TYPING_MAX = 10 s (Nielsen's limit for keeping attention), ±jitter.
        expect(t.firstReplyMs).toBeLessThanOrEqual(12_000);
        if (actionKind(input.replies[0]!) === 'message') expect(t.firstReplyMs).toBeGreaterThanOrEqual(1000);
        expect(t.typingMs).toBeLessThanOrEqual(8500);
      }),
    );
  });
});
