/**
 * The scale model (docs/scale.md, "The scale model"): closed-form figures for N simultaneous conversations
 * under a stated traffic mix — a turn's timeline from the planner's unjittered durations, then Little's law
 * (in flight = rate × time held) for queues and Lambda. The simulation (sim-system.ts) checks it.
 */
import type { PlanConfig } from '../../lib/pacing/config.ts';
import { readingMs, typingMsForLength } from '../../lib/pacing/plan.ts';

export type TrafficMix = {
  inboundChars: number;
  bubbles: number;
  bubbleChars: number;
  thinkingMs: number;
  /** The user reading the answer and writing again, from the last bubble. */
  userMs: number;
  graphMs: number;
  webhookMs: number;
  deferMs: number;
  pollMs: number;
};

/** The stated mix: deploy.md's sizing turn (10 s thinking, two bubbles, ~33 s a turn). */
export const STATED_MIX: TrafficMix = {
  inboundChars: 48,
  bubbles: 2,
  bubbleChars: 60,
  thinkingMs: 10_000,
  userMs: 15_000,
  graphMs: 150,
  webhookMs: 50,
  deferMs: 5,
  pollMs: 20,
};

/** Prices, us-east-1, looked up 2026-12-07 (sources in docs/scale.md). */
export const PRICES = {
  lambdaGbSecondArm: 0.000_013_333_4,
  lambdaRequest: 0.2 / 1e6,
  sqsFifoRequest: 0.5 / 1e6,
  ddbWrite: 0.625 / 1e6,
  ddbRead: 0.125 / 1e6,
  memoryGb: 0.25,
};

/** A waited step: rest r after its receive → invocations and billed seconds (exact timing defaults). */
const stepCost = (restMs: number, mix: TrafficMix): { invocations: number; billedMs: number } => {
  if (restMs <= 1000) return { invocations: 1, billedMs: Math.max(0, restMs) + mix.graphMs };
  // Whole seconds to SQS; the redelivery sleeps the sub-second rest (on average half a second).
  return { invocations: 2, billedMs: mix.deferMs + 500 + mix.graphMs };
};

export type TurnShape = {
  cycleMs: number;
  stepsPerTurn: number;
  senderInvocations: number;
  senderBilledMs: number;
  stepsInFlightMs: number;
  responderInFlightMs: number;
  responderBilledMs: number;
  visibilityChanges: number;
};

/** One turn of the mix, step by step, as the sender and the responder run it with the default settings. */
export const turnShape = (mix: TrafficMix, plan: PlanConfig, quietMs: number): TurnShape => {
  const read = readingMs('x '.repeat(mix.inboundChars / 6), plan);
  const typing = typingMsForLength(mix.bubbleChars, plan);
  const turnStartsAt = mix.webhookMs + mix.pollMs + Math.ceil(quietMs / 1000) * 1000;
  const replyAt = turnStartsAt + mix.thinkingMs;
  // Rests after each step's receive: mark_seen 0, prelude typing_on, first bubble (typed while thinking),
  // then per further bubble a typing_on after the pause and its message after the typing.
  const hop = mix.graphMs + mix.pollMs;
  const rests = [0, read - 2 * hop + mix.pollMs, Math.max(0, read + typing - replyAt)];
  for (let b = 1; b < mix.bubbles; b += 1) rests.push(plan.PLAN_BETWEEN_REPLIES_MS - hop, typing - hop);
  const costs = rests.map((r) => stepCost(r, mix));
  const lastBubbleAt = replyAt + (mix.bubbles - 1) * (plan.PLAN_BETWEEN_REPLIES_MS + typing) + hop;
  return {
    cycleMs: lastBubbleAt + mix.userMs,
    stepsPerTurn: rests.length,
    senderInvocations: costs.reduce((s, c) => s + c.invocations, 0),
    senderBilledMs: costs.reduce((s, c) => s + c.billedMs, 0),
    stepsInFlightMs: rests.reduce((s, r) => s + Math.max(0, r) + mix.graphMs, 0),
    responderInFlightMs: turnStartsAt - mix.webhookMs + mix.thinkingMs,
    responderBilledMs: mix.deferMs + mix.thinkingMs,
    visibilityChanges: costs.filter((c) => c.invocations === 2).length + 1,
  };
};

export type ModelFigures = {
  conversations: number;
  shards: number;
  accounts: number;
  turnsPerSecond: number;
  stepsInFlightPerQueue: number;
  responderInFlightPerQueue: number;
  /** Per steps queue, per action. */
  receiveTps: number;
  deleteTps: number;
  changeVisibilityTps: number;
  sendBatchTps: number;
  senderConcurrency: number;
  responderConcurrency: number;
  webhookConcurrency: number;
  ddbReadsPerSecond: number;
  ddbWritesPerSecond: number;
  graphCallsPerAccountPerSecond: number;
  dollarsPerMillionTurns: number;
};

/** Little's law over the turn's shape, for `conversations` spread over `shards` and `accounts`. */
export const scaleModel = (
  conversations: number,
  shards: number,
  accounts: number,
  shape: TurnShape,
  mix: TrafficMix,
): ModelFigures => {
  const turns = conversations / (shape.cycleMs / 1000);
  const perQueue = turns / shards;
  const ddbReads = 1 + 1 + 1; // webhook ledger, LLM memory, the abort check before the first bubble
  const ddbWrites = 1 + 1 + mix.bubbles; // webhook ledger, LLM memory, a sent-step record per bubble
  return {
    conversations,
    shards,
    accounts,
    turnsPerSecond: turns,
    stepsInFlightPerQueue: (perQueue * shape.stepsInFlightMs) / 1000,
    responderInFlightPerQueue: (perQueue * shape.responderInFlightMs) / 1000,
    receiveTps: perQueue * shape.senderInvocations,
    deleteTps: perQueue * shape.stepsPerTurn,
    changeVisibilityTps: perQueue * (shape.senderInvocations - shape.stepsPerTurn),
    sendBatchTps: perQueue * (1 + mix.bubbles),
    senderConcurrency: (turns * shape.senderBilledMs) / 1000,
    responderConcurrency: (turns * shape.responderBilledMs) / 1000,
    webhookConcurrency: (turns * mix.webhookMs) / 1000,
    ddbReadsPerSecond: turns * ddbReads,
    ddbWritesPerSecond: turns * ddbWrites,
    graphCallsPerAccountPerSecond: (turns * shape.stepsPerTurn) / accounts,
    dollarsPerMillionTurns: dollarsPerTurn(shape, mix) * 1e6,
  };
};

/** Lambda GB-s and requests of the three functions, SQS requests of both queues, DynamoDB on demand. */
export const dollarsPerTurn = (shape: TurnShape, mix: TrafficMix): number => {
  const p = PRICES;
  const billedS = (shape.senderBilledMs + shape.responderBilledMs + mix.webhookMs) / 1000;
  const invocations = shape.senderInvocations + 2 + 1;
  // Steps queue: a batch for the prelude and one per bubble, a receive per invocation, a delete per step, a
  // visibility change per deferral (= 2 per invocation in all). Responder queue: send, 2 receives, 1
  // visibility change (the quiet window), 1 delete.
  const sqs = 1 + mix.bubbles + 2 * shape.senderInvocations + 5;
  return (
    billedS * p.memoryGb * p.lambdaGbSecondArm +
    invocations * p.lambdaRequest +
    sqs * p.sqsFifoRequest +
    3 * p.ddbRead +
    (2 + mix.bubbles) * p.ddbWrite
  );
};

/** An unpaced bot: one webhook invocation thinks and posts every bubble at once; no queues. */
export const unpacedDollarsPerTurn = (mix: TrafficMix): number => {
  const p = PRICES;
  const billedS = (mix.webhookMs + mix.thinkingMs + mix.bubbles * mix.graphMs) / 1000;
  return billedS * p.memoryGb * p.lambdaGbSecondArm + p.lambdaRequest + 2 * p.ddbRead + 2 * p.ddbWrite;
};
