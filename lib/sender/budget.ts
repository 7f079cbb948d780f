/**
 * Per-account Graph call budgets, the pure part: how many calls per second an account may spend, which
 * share of a second's budget each kind of step may fill, and what happens to a step when its share is
 * full or Graph says the account (or the pair) is over its rate. No clock, no I/O; the counts live in
 * budget-store.ts. docs/scale.md, "Per-account call budgets", has the numbers behind each choice.
 *
 * Published limits (2026): Messenger Send API 300 calls/s per Page, and a Page sending more than 40
 * messages/s can lose its inbox until volume drops; Instagram 100 calls/s per account; WhatsApp Cloud API
 * 80 messages/s per number by default, counting inbound and outbound (Cloud API, Throughput).
 *
 * Degradation order when an account is hot, by the share of the second each class may fill:
 * typing refreshes stop first (half the budget used), then typing and seen (three quarters), and
 * messages and reactions are never shed, only deferred to a later second. A shed step is done at once,
 * in its place, so nothing is reordered: a user's FIFO group keeps its order and its message comes sooner.
 */
import type { Channel } from '../queue/recipient.ts';
import type { ActionKind } from '../queue/step.ts';

/** What a step is to the budget: a refresh of a showing bubble, another indicator, or what the user reads. */
export type BudgetClass = 'refresh' | 'indicator' | 'message';

export const PUBLISHED_CALLS_PER_SECOND: Readonly<Record<Channel, number>> = {
  messenger: 300,
  instagram: 100,
  whatsapp: 80,
};

/** Messenger: above 40 messages/s a Page can lose its inbox until volume drops. */
export const MESSENGER_MESSAGES_PER_SECOND = 40;

/**
 * WhatsApp counts inbound messages in the same 80/s. Every reply answers at least one inbound message, so
 * half the number's throughput is left to inbound.
 */
export const WHATSAPP_OUTBOUND_SHARE = 0.5;

/** The share of a second's call budget each class may fill before it is shed (messages: all of it). */
export const CLASS_CEILING: Readonly<Record<BudgetClass, number>> = {
  refresh: 0.5,
  indicator: 0.75,
  message: 1,
};

export type AccountBudget = {
  /** Calls per second this deployment spends on the account, across every sender instance. */
  calls: number;
  /** Messages per second, where the channel caps them separately (Messenger's inbox protection). */
  messages?: number;
};

export type BudgetTuning = {
  SENDER_BUDGET_SHARE: number;
  SENDER_ACCOUNT_CALLS_PER_SECOND?: number | undefined;
};

/** The account's budget: its channel's published limit (or the configured one) times the share kept. */
export const accountBudget = (channel: Channel, tuning: BudgetTuning): AccountBudget => {
  const published = tuning.SENDER_ACCOUNT_CALLS_PER_SECOND ?? PUBLISHED_CALLS_PER_SECOND[channel];
  const outbound = channel === 'whatsapp' ? published * WHATSAPP_OUTBOUND_SHARE : published;
  const calls = Math.max(1, Math.floor(outbound * tuning.SENDER_BUDGET_SHARE));
  if (channel !== 'messenger') return { calls };
  const messages = Math.max(1, Math.floor(MESSENGER_MESSAGES_PER_SECOND * tuning.SENDER_BUDGET_SHARE));
  return { calls, messages };
};

/** Reactions are read like messages (Meta counts them with text); seen and typing are indicators. */
export const budgetClassOf = (kind: ActionKind, refresh: boolean): BudgetClass => {
  if (kind === 'message' || kind === 'react' || kind === 'unreact') return 'message';
  return kind === 'typing_on' && refresh ? 'refresh' : 'indicator';
};

/** What one take may fill the second's counts to: the class's share of the calls (and the message cap). */
export type TakeCeiling = { calls: number; messages?: number };

export const takeCeiling = (budget: AccountBudget, klass: BudgetClass): TakeCeiling => {
  const calls = Math.max(1, Math.floor(budget.calls * CLASS_CEILING[klass]));
  return klass === 'message' && budget.messages !== undefined
    ? { calls, messages: budget.messages }
    : { calls };
};

export type BudgetDecision = { kind: 'send' } | { kind: 'shed' } | { kind: 'defer'; seconds: number };

/**
 * Longest random spread of a message's deferral, in seconds: messages deferred together would otherwise all
 * come back on the same second boundary and fill it again.
 */
export const MAX_DEFER_SPREAD_SECONDS = 10;

/**
 * A message over budget goes to a later second: 1 s plus a spread that grows with its receives (each
 * deferral costs one of the step's SQS receives, so the spread stretches them over ~1–2 minutes).
 */
export const deferSeconds = (receiveCount: number, random: () => number): number => {
  const spread = Math.min(MAX_DEFER_SPREAD_SECONDS, Math.max(1, receiveCount));
  return 1 + Math.floor(Math.min(0.999, Math.max(0, random())) * spread);
};

/**
 * After a take: sent when the second had room for its class; else a cosmetic step is shed (done at once,
 * in order) and a message deferred. On the final receive a message is sent anyway: SQS's redrive must never
 * take a message silently (schedule.ts isFinalReceive).
 */
export const budgetDecision = (
  input: { klass: BudgetClass; taken: boolean; receiveCount: number; finalReceive: boolean },
  random: () => number,
): BudgetDecision => {
  if (input.taken) return { kind: 'send' };
  if (input.klass !== 'message') return { kind: 'shed' };
  if (input.finalReceive) return { kind: 'send' };
  return { kind: 'defer', seconds: deferSeconds(input.receiveCount, random) };
};

/** What a Graph refusal says about the budget: the whole account is over its rate, or this pair is. */
export type BudgetSignal = { scope: 'account' | 'pair'; seconds: number };

/** Graph's own rate answers are the budget's signal for at most this long; longer waits are its usage hold's. */
export const MAX_SIGNAL_SECONDS = 60;

/**
 * A rate refusal (613, 130429: the account; 131056: one WhatsApp pair) → how long the budget treats the
 * account (or pair) as full: what Graph asked for, at least 1 s (the window), at most MAX_SIGNAL_SECONDS.
 */
export const budgetSignalSeconds = (retryAfterMs: number | undefined, floorMs = 1000): number =>
  Math.min(MAX_SIGNAL_SECONDS, Math.max(1, Math.ceil(Math.max(retryAfterMs ?? 0, floorMs) / 1000)));

/**
 * After a rate refusal: a cosmetic step is shed (a late seen or typing shows nothing useful and would
 * spend a call the account does not have); a message goes back for the signal's length, flat — not the
 * exponential per-step backoff, whose retries multiply the load the refusal is about.
 */
export const signalDecision = (klass: BudgetClass, signal: BudgetSignal): BudgetDecision =>
  klass === 'message' ? { kind: 'defer', seconds: signal.seconds } : { kind: 'shed' };

/** The budget's window: whole epoch seconds. */
export const windowOf = (now: number): number => Math.floor(now / 1000);
