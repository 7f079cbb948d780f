/**
 * The planner: turns what the responder decided to say into paced Graph steps — seen, a reading pause,
 * typing for as long as a (quick) person would need, then the message.
 *
 * Meta, Sender Actions (shared/seed): "Send the mark_seen indicator when your bot receives a message" and
 * "Do not allow an unnatural amount of time (too long or too short) to pass between typing_on and
 * typing_off" — the whole model below is about that second sentence. Defaults and their reasons: README.
 *
 * Pure and deterministic: the same seed, text and replies always give the same plan (jitter comes from a
 * hash, not Math.random), so a redelivered webhook event plans exactly the same sequence.
 */
import { createHash } from 'node:crypto';
import type { Reply } from '../queue/reply.ts';
import { actionKind, MAX_STEP_DELAY_MS, type Step } from '../queue/step.ts';
import type { PlanConfig } from './config.ts';
import { countGraphemes, wordsIn } from './words.ts';

/** Words as the reader sees them (lib/pacing/words.ts). */
export const countWords = (text: string): number => wordsIn(text).length;

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

/**
 * How long reading the inbound message takes, unscaled and without jitter: words at PLAN_READ_WPM
 * (238 wpm, Brysbaert 2019 average silent reading), clamped to [READ_MIN, READ_MAX]. No text → READ_MIN.
 */
export const readingMs = (text: string | undefined, config: PlanConfig): number => {
  const n = text === undefined ? 0 : countWords(text);
  return clamp((n / config.PLAN_READ_WPM) * 60_000, config.PLAN_READ_MIN_MS, config.PLAN_READ_MAX_MS);
};

/** Typing time of a text of `length` characters, unscaled and without jitter. Non-decreasing in length. */
export const typingMsForLength = (length: number, config: PlanConfig): number =>
  clamp((length / config.PLAN_TYPING_CPM) * 60_000, config.PLAN_TYPING_MIN_MS, config.PLAN_TYPING_MAX_MS);

/**
 * How long the typing bubble shows before a message reply, unscaled and without jitter: text at
 * PLAN_TYPING_CPM, clamped; an attachment (picking a photo or file) takes PLAN_ATTACHMENT_TYPING_MS.
 * Quick-reply chips are tapped, not typed, so they add nothing. Reactions are not typed: 0.
 */
export const typingMs = (reply: Reply, config: PlanConfig): number => {
  if (!('message' in reply)) return 0;
  const { text } = reply.message;
  if (text === undefined) return config.PLAN_ATTACHMENT_TYPING_MS;
  return typingMsForLength(countGraphemes(text), config);
};

/**
 * A deterministic number in [-1, 1] for (seed, key). sha256 rather than a tiny hash: stable across
 * Node versions and platforms, well mixed for similar seeds, and a plan needs only a handful.
 */
export const unitNoise = (seed: string, key: string): number => {
  const digest = createHash('sha256').update(seed).update('\u0000').update(key).digest();
  return (digest.readUInt32BE(0) / 0xffff_ffff) * 2 - 1;
};

/** Multiplies by 1 + u·JITTER, u ∈ [-1, 1] from the hash of (seed, key). Unscaled, not rounded. */
const jittered = (ms: number, seed: string, key: string, config: PlanConfig): number =>
  ms * (1 + unitNoise(seed, key) * config.PLAN_JITTER);

export type PlanInput = {
  /** Stable per inbound event (its eventId): the same event always plans the same sequence. */
  seed: string;
  /** What the user wrote, for the reading pause; none (postback, attachment) → PLAN_READ_MIN_MS. */
  inboundText?: string;
  replies: readonly Reply[];
};

/**
 * Plans a sequence: mark_seen (0) → reading pause → per message reply: typing_on, [typing_on refreshes],
 * message; per reaction: the react/unreact step itself. `delayMs` is the wait after the previous step
 * completed. No replies → no steps at all (not even mark_seen): the webhook enqueues nothing, so an
 * event the bot does not answer (a reaction, a read receipt) is not marked seen either, which is what a
 * person who chose not to answer would look like — and what the corpus expects (zero jobs).
 */
export const planSequence = (input: PlanInput, config: PlanConfig): Step[] => {
  const { seed, replies } = input;
  if (replies.length === 0) return [];
  const scale = config.PLAN_TIME_SCALE;
  /** Applies the time scale last, so a scaled plan is the same plan with every delay multiplied. */
  const delay = (unscaledMs: number): number => clamp(Math.round(unscaledMs * scale), 0, MAX_STEP_DELAY_MS);
  const steps: Step[] = [{ action: { sender_action: 'mark_seen' }, delayMs: 0 }];
  const read = jittered(readingMs(input.inboundText, config), seed, 'read', config);
  // Messenger drops the typing bubble after ~20 s, so a longer wait gets a fresh typing_on. The interval is
  // real time: below a time scale of 1 it shrinks with every duration (same plan, just faster); above 1 it
  // stays put so the bubble never lapses. Counted in unscaled time so the step count cannot depend on
  // floating-point noise from the scale.
  const refreshUnscaled = Math.max(1, config.PLAN_TYPING_REFRESH_MS) / Math.max(1, scale);

  replies.forEach((reply, i) => {
    const pause = i === 0 ? read : jittered(config.PLAN_BETWEEN_REPLIES_MS, seed, `pause:${i}`, config);
    if (!('message' in reply)) {
      steps.push({ action: reply, delayMs: delay(pause) });
      return;
    }
    const typing = jittered(typingMs(reply, config), seed, `typing:${i}`, config);
    // Equal chunks, each at most the refresh interval: typing_on, then a refresh before each further chunk.
    const chunks = Math.max(1, Math.ceil(typing / refreshUnscaled));
    const chunk = typing / chunks;
    for (let c = 0; c < chunks; c++) {
      steps.push({
        action: { sender_action: 'typing_on' },
        delayMs: delay(c === 0 ? pause : chunk),
        // The sender skips a typing_on running this late: its message is due (or overdue) by then.
        skippableAfterMs: delay(typing - c * chunk),
        ...(c > 0 && { refresh: true as const }),
      });
    }
    steps.push({ action: reply, delayMs: delay(chunk) });
  });
  return steps;
};

/** Real-time length of an unscaled duration: PLAN_TIME_SCALE applied, rounded, within a step's limit. */
export const scaled = (unscaledMs: number, config: PlanConfig): number =>
  clamp(Math.round(unscaledMs * config.PLAN_TIME_SCALE), 0, MAX_STEP_DELAY_MS);

/**
 * How often a typing bubble is refreshed, in real ms: PLAN_TYPING_REFRESH_MS, shrunk with the time scale
 * below 1 (same plan, faster) and never stretched above it (the bubble must not lapse). At least 50 ms so
 * a time scale of 0 cannot turn a keep-alive loop into a busy loop.
 */
export const refreshIntervalMs = (config: PlanConfig): number =>
  Math.max(50, Math.round(config.PLAN_TYPING_REFRESH_MS * Math.min(1, config.PLAN_TIME_SCALE)));

/**
 * What a person does the moment a message arrives, before knowing the answer: mark_seen, read it, start
 * typing. Planned from the inbound message alone (the same reading pause and seed as planSequence), so the
 * webhook enqueues it at once and seen/typing never wait for the responder. `typingAfterMs` is when the
 * typing_on is due, counted from the plan's start; the responder's replies are paced from it (paceReply).
 */
export const planPrelude = (
  input: Pick<PlanInput, 'seed' | 'inboundText'>,
  config: PlanConfig,
): { steps: Step[]; typingAfterMs: number } => {
  const read = scaled(jittered(readingMs(input.inboundText, config), input.seed, 'read', config), config);
  return {
    steps: [
      { action: { sender_action: 'mark_seen' }, delayMs: 0 },
      { action: { sender_action: 'typing_on' }, delayMs: read },
    ],
    typingAfterMs: read,
  };
};

/**
 * Where a turn's conversation stands, in epoch ms, for pacing what comes next. The sender anchors each
 * step's delay on its predecessor's completion (lib/sender/schedule.ts), i.e. on max(now, lastDueAt):
 * the steps of a reply are computed against that base so they land at absolute target times.
 */
export type Pace = {
  /** Planned time of the last step enqueued for this user (0: none pending). */
  lastDueAt: number;
  /** Since when the typing bubble shows without a break, if it does. */
  typingSince?: number;
  /** Planned time of the latest typing_on (start or refresh), if the bubble shows. */
  refreshedAt?: number;
  /** Replies paced so far in this turn: the jitter key and whether a between-replies pause applies. */
  replies: number;
};

/** Steps for the user's FIFO group: delays relative to the previous one, the first to `plannedAt`. */
export type PacedSteps = { steps: Step[]; plannedAt: number };

/** Absolute-time steps → relative delays from `base` (what the queue and the sender take). */
const relative = (base: number, timed: readonly { at: number; step: Omit<Step, 'delayMs'> }[]): Step[] => {
  let previous = base;
  return timed.map(({ at, step }) => {
    const delayMs = clamp(Math.round(at - previous), 0, MAX_STEP_DELAY_MS);
    previous += delayMs;
    return { ...step, delayMs };
  });
};

/**
 * Paces one reply at `now`. The typing time already shown counts (issue #12): a message goes out when its
 * planned typing time is over counted from when the bubble started, or at once when that is past — never
 * thinking time plus typing time. Without a bubble showing, typing starts after the between-replies pause
 * (none for the turn's first reply). Refreshes keep every stretch of typing within refreshIntervalMs.
 * A reaction is not typed: it goes out after the pause and leaves the bubble as it was.
 */
export const paceReply = (
  pace: Pace,
  reply: Reply,
  now: number,
  seed: string,
  config: PlanConfig,
): { paced: PacedSteps; pace: Pace } => {
  const base = Math.max(now, pace.lastDueAt);
  const i = pace.replies;
  const pause =
    i === 0 ? 0 : scaled(jittered(config.PLAN_BETWEEN_REPLIES_MS, seed, `pause:${i}`, config), config);
  if (!('message' in reply)) {
    const at = base + pause;
    return {
      paced: { steps: relative(base, [{ at, step: { action: reply } }]), plannedAt: base },
      pace: { ...pace, lastDueAt: at, replies: i + 1 },
    };
  }
  const typing = scaled(jittered(typingMs(reply, config), seed, `typing:${i}`, config), config);
  const timed: { at: number; step: Omit<Step, 'delayMs'> }[] = [];
  let since = pace.typingSince;
  let refreshed = pace.refreshedAt ?? since;
  if (since === undefined || refreshed === undefined) {
    since = base + pause;
    refreshed = since;
    timed.push({ at: since, step: { action: { sender_action: 'typing_on' } } });
  }
  const sendAt = Math.max(base, since + typing);
  const interval = refreshIntervalMs(config);
  for (let at = Math.max(base, refreshed + interval); at < sendAt; at += interval) {
    timed.push({ at, step: { action: { sender_action: 'typing_on' }, refresh: true } });
  }
  for (const t of timed) t.step = { ...t.step, skippableAfterMs: Math.round(sendAt - t.at) };
  timed.push({ at: sendAt, step: { action: reply } });
  return {
    paced: { steps: relative(base, timed), plannedAt: base },
    pace: { lastDueAt: sendAt, replies: i + 1 },
  };
};

/**
 * A keep-alive typing_on while the responder still works, or nothing yet: the bubble is (re)started when
 * it is not showing and the last step is due (plus the between-replies pause after a message), and refreshed once refreshIntervalMs passed since the last
 * typing_on. `nextAt` is when to ask again (the caller sleeps until then, or until the responder answers).
 */
export const keepAlive = (
  pace: Pace,
  now: number,
  config: PlanConfig,
): { paced?: PacedSteps; pace: Pace; nextAt: number } => {
  const interval = refreshIntervalMs(config);
  // After a message the bubble restarts once a between-replies pause passed, as a person's next message would.
  const restartAt = pace.lastDueAt + (pace.replies > 0 ? scaled(config.PLAN_BETWEEN_REPLIES_MS, config) : 0);
  const dueAt =
    pace.refreshedAt === undefined || pace.typingSince === undefined
      ? restartAt
      : pace.refreshedAt + interval;
  if (now < dueAt) return { pace, nextAt: dueAt };
  const step: Step = {
    action: { sender_action: 'typing_on' },
    delayMs: 0,
    ...(pace.refreshedAt !== undefined && pace.typingSince !== undefined && { refresh: true as const }),
  };
  return {
    paced: { steps: [step], plannedAt: now },
    pace: { ...pace, lastDueAt: now, typingSince: pace.typingSince ?? now, refreshedAt: now },
    nextAt: now + interval,
  };
};

type Timeline = {
  /** From the inbound event to the first message (or reaction) the user sees, in ms (0 if none). */
  firstReplyMs: number;
  /** From the inbound event to the last step, in ms. */
  totalMs: number;
  /** How long the typing bubble shows, summed over all messages. */
  typingMs: number;
};

/** When things happen in a plan, for the bench, logs and the README table (ignores sending latency). */
export const timelineOf = (steps: readonly Step[]): Timeline => {
  let at = 0;
  let firstReplyMs: number | undefined;
  let typing = 0;
  let typingSince: number | undefined;
  for (const step of steps) {
    at += step.delayMs;
    const kind = actionKind(step.action);
    if (kind === 'typing_on') typingSince ??= at;
    else if (typingSince !== undefined) {
      typing += at - typingSince;
      typingSince = undefined;
    }
    if (firstReplyMs === undefined && (kind === 'message' || kind === 'react' || kind === 'unreact'))
      firstReplyMs = at;
  }
  return { firstReplyMs: firstReplyMs ?? 0, totalMs: at, typingMs: typing };
};
