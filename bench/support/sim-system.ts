/**
 * The whole pipeline as a discrete-event simulation, deciding everything with the project's own code: the
 * webhook plans each prelude with lib/pacing/plan.ts planPrelude, the responder waits out the quiet window
 * with lib/responder/turn.ts decideTurn and paces replies with paceReply, and the sender decides send /
 * wait / defer / skip per step with lib/sender/schedule.ts decideStep (retries: retryDelaySeconds). Users
 * are routed to queue shards with lib/queue/shards.ts shardOf. What is simulated instead of called: SQS
 * (bench/support/sim-fifo.ts), Lambda (sim-lambda.ts), Graph's latency and each account's call budget.
 *
 * One run simulates the conversations of ONE shard (`shard` of `shards`): jump hashing spreads users evenly
 * and shards share nothing but the account's concurrency and each Page's Graph budget, which are scaled to
 * the shard's share. That is how 1,000,000 conversations fit on a 2-core machine: figures per queue are
 * measured, figures per account are the shard's × shards.
 */
import { type PlanConfig, planConfigSchema } from '../../lib/pacing/config.ts';
import { type Pace, paceReply, planPrelude } from '../../lib/pacing/plan.ts';
import { parseEnv } from '../../lib/platform/config.ts';
import type { QueuedInbound } from '../../lib/queue/inbound-codec.ts';
import type { Reply } from '../../lib/queue/reply.ts';
import { shardOf } from '../../lib/queue/shards.ts';
import { actionKind, type Step } from '../../lib/queue/step.ts';
import { type TurnPolicy, turnPolicySchema } from '../../lib/responder/config.ts';
import { decideTurn } from '../../lib/responder/turn.ts';
import { type SenderTuningConfig, senderTuningSchema } from '../../lib/sender/config.ts';
import { decideStep, retryDelaySeconds } from '../../lib/sender/schedule.ts';
import { createEventLoop, type EventLoop } from './sim-events.ts';
import { createSimFifo, type SimFifo, type SimMessage } from './sim-fifo.ts';
import { type Account, createMapping, type FunctionStats, invoke, newStats } from './sim-lambda.ts';
import type { TrafficMix } from './sim-model.ts';

export type SimLimits = {
  shards: number;
  /** Which shard's users this run simulates. */
  shard: number;
  inFlightLimit: number;
  senderMaxConcurrency: number;
  responderMaxConcurrency: number;
  responderBatchSize: number;
  /** The account's concurrency quota, whole account (scaled to the shard's share inside). */
  accountConcurrency: number;
  accounts: number;
  /** Graph calls per second per account (Messenger: 300 per Page). */
  graphBudgetPerSecond: number;
};

export type SimRun = { conversations: number; warmupMs: number; measureMs: number; seed: number };

type Conversation = { id: number; group: string; account: number; turn: number };
type StepBody = {
  step: Step & { dueAt: number; plannedAt: number };
  conv: Conversation;
  receivedAt: number;
  firstOfSequence: boolean;
  lastOfTurn: boolean;
};
type InboundBody = { conv: Conversation; receivedAt: number; typingAt: number };

/** Counters diffed between the start and the end of the measured window. */
export type SimCounters = {
  turns: number;
  messages: number;
  graphCalls: number;
  graphThrottled: number;
  ddbReads: number;
  ddbWrites: number;
};

export type SimResult = {
  sampledConversations: number;
  windowMs: number;
  counters: SimCounters;
  calls: { steps: Record<string, number>; responder: Record<string, number> };
  functions: Record<'webhook' | 'responder' | 'sender', { invocations: number; billedMs: number }>;
  samples: {
    stepsInFlight: number[];
    responderInFlight: number[];
    sender: number[];
    responder: number[];
    webhook: number[];
    account: number[];
  };
  graphPerAccountPerSecond: number[];
  messageLatenessMs: number[];
  /** From the user's message to the reply's last bubble sent (ms). */
  turnMs: number[];
  starvedReceives: number;
  events: number;
};

/** Mulberry32: a small seeded PRNG, so a run is repeatable. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const textOf = (chars: number): string => 'lorem ipsum '.repeat(Math.ceil(chars / 12)).slice(0, chars);

/** The configuration every function would load with no variables set: the project's defaults. */
export const defaults = (): { plan: PlanConfig; tuning: SenderTuningConfig; policy: TurnPolicy } => ({
  plan: parseEnv(planConfigSchema, {}),
  tuning: parseEnv(senderTuningSchema, {}),
  policy: parseEnv(turnPolicySchema, {}),
});

/** Absolute due times along a sequence: the body's dueAt, as the producer computes it. */
const timeline = (steps: readonly Step[], plannedAt: number): StepBody['step'][] => {
  let at = plannedAt;
  return steps.map((step) => {
    at += step.delayMs;
    return { ...step, dueAt: at, plannedAt };
  });
};

/** The users of one shard among `conversations`, by the group id the producers hash. */
export const conversationsOfShard = (run: SimRun, limits: SimLimits): Conversation[] => {
  const out: Conversation[] = [];
  for (let id = 0; id < run.conversations; id += 1) {
    const account = id % limits.accounts;
    const group = `${100_000 + account}:${7_000_000 + id}`;
    if (shardOf(group, limits.shards) === limits.shard) out.push({ id, group, account, turn: 0 });
  }
  return out;
};

type World = {
  loop: EventLoop;
  random: () => number;
  mix: TrafficMix;
  limits: SimLimits;
  config: ReturnType<typeof defaults>;
  steps: SimFifo<StepBody>;
  inbound: SimFifo<InboundBody>;
  account: Account;
  webhook: FunctionStats;
  counters: SimCounters;
  budget: (account: number) => boolean;
  graphCalls: Map<number, number>;
  lateness: number[];
  turnMs: number[];
  measuring: () => boolean;
};

const jitter = (world: World, ms: number): number => ms * (1 + (world.random() * 2 - 1) * 0.15);

/** A user writes: the webhook answers Meta, plans the prelude and enqueues it and the event. */
const userWrites = (world: World, conv: Conversation): void => {
  const { loop, mix } = world;
  const receivedAt = loop.now();
  conv.turn += 1;
  invoke(loop, world.webhook, world.account, (done) => {
    world.counters.ddbReads += 1; // the answered-events ledger: read, then written after the enqueue
    loop.after(mix.webhookMs, () => {
      const seed = `${conv.id}:${conv.turn}`;
      const prelude = planPrelude({ seed, inboundText: textOf(mix.inboundChars) }, world.config.plan);
      const steps = timeline(prelude.steps, receivedAt);
      world.steps.sendBatch(
        steps.map((step, i) => ({
          group: conv.group,
          body: { step, conv, receivedAt, firstOfSequence: i === 0, lastOfTurn: false },
        })),
      );
      world.inbound.sendBatch([
        { group: conv.group, body: { conv, receivedAt, typingAt: receivedAt + prelude.typingAfterMs } },
      ]);
      world.counters.ddbWrites += 1;
      done();
    });
  });
};

/** The responder's turn once the quiet window passed: think, then pace every reply (paceReply). */
const runTurn = (world: World, body: InboundBody, finished: () => void): void => {
  const { loop, mix } = world;
  loop.after(jitter(world, mix.thinkingMs), () => {
    world.counters.ddbReads += 1; // the LLM's conversation memory: read and written once per turn
    world.counters.ddbWrites += 1;
    const seed = `${body.conv.id}:${body.conv.turn}`;
    let pace: Pace = {
      lastDueAt: body.typingAt,
      typingSince: body.typingAt,
      refreshedAt: body.typingAt,
      replies: 0,
    };
    const reply: Reply = { message: { text: textOf(mix.bubbleChars) } };
    for (let i = 0; i < mix.bubbles; i += 1) {
      const next = paceReply(pace, reply, loop.now(), seed, world.config.plan);
      pace = next.pace;
      const steps = timeline(next.paced.steps, next.paced.plannedAt);
      world.steps.sendBatch(
        steps.map((step, j) => ({
          group: body.conv.group,
          body: {
            step,
            conv: body.conv,
            receivedAt: body.receivedAt,
            firstOfSequence: j === 0,
            lastOfTurn: i === mix.bubbles - 1 && j === steps.length - 1,
          },
        })),
      );
    }
    finished();
  });
};

/** decideTurn reads only the turn's receive times and receive count: the rest of the body is not needed. */
const quietWindow = (world: World, message: SimMessage<InboundBody>) =>
  decideTurn(
    {
      inbounds: [{ receivedAt: message.body.receivedAt } as QueuedInbound],
      receiveCount: message.receiveCount,
    },
    world.loop.now(),
    world.config.policy,
  );

const responderHandler = (world: World) => (messages: SimMessage<InboundBody>[], done: () => void) => {
  let open = messages.length;
  const settle = (): void => {
    open -= 1;
    if (open === 0) done();
  };
  for (const message of messages) {
    const decision = quietWindow(world, message);
    if (decision.kind === 'defer') {
      world.loop.after(world.mix.deferMs, () => {
        world.inbound.changeVisibility(message, decision.visibilitySeconds);
        settle();
      });
    } else {
      runTurn(world, message.body, () => {
        world.inbound.remove(message);
        settle();
      });
    }
  }
};

/** One Graph call within the account's budget; a throttled call comes back after a retry delay. */
const graphCall = (world: World, message: SimMessage<StepBody>, done: () => void): void => {
  const { loop, mix, counters } = world;
  const { step, conv } = message.body;
  const allowed = world.budget(conv.account);
  counters.graphCalls += 1;
  if (world.measuring()) {
    const key = Math.floor(loop.now() / 1000) * 1e6 + conv.account;
    world.graphCalls.set(key, (world.graphCalls.get(key) ?? 0) + 1);
  }
  const startedAt = loop.now();
  loop.after(jitter(world, mix.graphMs), () => {
    if (!allowed) {
      counters.graphThrottled += 1;
      const seconds = retryDelaySeconds(
        { receiveCount: message.receiveCount, random: world.random },
        world.config.tuning,
      );
      world.steps.changeVisibility(message, seconds);
      done();
      return;
    }
    if (actionKind(step.action) === 'message') {
      counters.messages += 1;
      counters.ddbWrites += 1; // the sent-step record (lib/sender/sent-steps.ts)
      if (message.body.firstOfSequence) counters.ddbReads += 1; // the abort check before a message-first sequence
      if (world.measuring()) world.lateness.push(startedAt - step.dueAt);
    }
    world.steps.remove(message);
    done();
    if (message.body.lastOfTurn) {
      counters.turns += 1;
      if (world.measuring()) world.turnMs.push(loop.now() - message.body.receivedAt);
      loop.after(jitter(world, mix.userMs), () => userWrites(world, conv));
    }
  });
};

const senderHandler = (world: World) => (messages: SimMessage<StepBody>[], done: () => void) => {
  const message = messages[0];
  if (message === undefined) return done();
  const { loop } = world;
  const decision = decideStep(
    {
      step: message.body.step,
      timing: {
        receiveCount: message.receiveCount,
        firstReceiveAt: message.firstReceiveAt ?? loop.now(),
        sentAt: message.sentAt,
      },
      now: loop.now(),
    },
    world.config.tuning,
  );
  if (decision.kind === 'skip') {
    world.steps.remove(message);
    return done();
  }
  if (decision.kind === 'defer') {
    loop.after(world.mix.deferMs, () => {
      world.steps.changeVisibility(message, decision.visibilitySeconds);
      done();
    });
    return;
  }
  loop.after(decision.kind === 'wait' ? decision.waitMs : 0, () => graphCall(world, message, done));
};

/**
 * A token bucket per account at its share of the Graph budget (the shard's users of that account ÷ all
 * of them). One second of burst, but at least GRAPH_MIN_BURST calls: a sampled Page has only a few users in
 * the shard (a share of ~1 call/s), and a one-call bucket would throttle every two calls that coincide —
 * an artefact of sampling, not of Meta's limit.
 */
const GRAPH_MIN_BURST = 20;

const graphBudget = (loop: EventLoop, ratePerSecond: (account: number) => number) => {
  const buckets = new Map<number, { tokens: number; at: number }>();
  return (account: number): boolean => {
    const rate = ratePerSecond(account);
    const burst = Math.max(rate, GRAPH_MIN_BURST);
    const bucket = buckets.get(account) ?? { tokens: burst, at: loop.now() };
    bucket.tokens = Math.min(burst, bucket.tokens + ((loop.now() - bucket.at) * rate) / 1000);
    bucket.at = loop.now();
    buckets.set(account, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
};

const budgetShares = (conversations: readonly Conversation[], run: SimRun, limits: SimLimits) => {
  const sampled = new Map<number, number>();
  for (const c of conversations) sampled.set(c.account, (sampled.get(c.account) ?? 0) + 1);
  const perAccount = run.conversations / limits.accounts;
  return (account: number): number =>
    (limits.graphBudgetPerSecond * (sampled.get(account) ?? 0)) / Math.max(1, perAccount);
};

const zeroCounters = (): SimCounters => ({
  turns: 0,
  messages: 0,
  graphCalls: 0,
  graphThrottled: 0,
  ddbReads: 0,
  ddbWrites: 0,
});

const diff = <K extends string>(after: Map<K, number> | Record<K, number>, before: Record<string, number>) =>
  Object.fromEntries(
    (after instanceof Map ? [...after.entries()] : Object.entries<number>(after)).map(([k, v]) => [
      k,
      v - (before[k] ?? 0),
    ]),
  ) as Record<string, number>;

/** Builds the world for one shard's users: queues, mappings, the account and the Graph budget. */
const buildWorld = (run: SimRun, limits: SimLimits, mix: TrafficMix, conversations: Conversation[]) => {
  const loop = createEventLoop(0);
  const account: Account = {
    limit: Math.max(1, Math.floor(limits.accountConcurrency / limits.shards)),
    busy: 0,
  };
  const steps = createSimFifo<StepBody>(loop, limits.inFlightLimit);
  const inbound = createSimFifo<InboundBody>(loop, limits.inFlightLimit);
  const world: World = {
    loop,
    random: seededRandom(run.seed),
    mix,
    limits,
    config: defaults(),
    steps,
    inbound,
    account,
    webhook: newStats(),
    counters: zeroCounters(),
    budget: graphBudget(loop, budgetShares(conversations, run, limits)),
    graphCalls: new Map(),
    lateness: [],
    turnMs: [],
    measuring: () => loop.now() >= run.warmupMs,
  };
  const poll = { pollLatencyMs: mix.pollMs };
  const sender = createMapping(
    loop,
    steps,
    account,
    { ...poll, maxConcurrency: limits.senderMaxConcurrency, batchSize: 1 },
    senderHandler(world),
  );
  const responder = createMapping(
    loop,
    inbound,
    account,
    { ...poll, maxConcurrency: limits.responderMaxConcurrency, batchSize: limits.responderBatchSize },
    responderHandler(world),
  );
  return { world, sender, responder };
};

/** Runs one shard's conversations: users start at random moments of one turn cycle, then keep talking. */
export const simulateShard = (
  run: SimRun,
  limits: SimLimits,
  mix: TrafficMix,
  cycleMs: number,
): SimResult => {
  const conversations = conversationsOfShard(run, limits);
  const { world, sender, responder } = buildWorld(run, limits, mix, conversations);
  const { loop } = world;
  for (const conv of conversations) loop.at(world.random() * cycleMs, () => userWrites(world, conv));
  const samples: SimResult['samples'] = {
    stepsInFlight: [],
    responderInFlight: [],
    sender: [],
    responder: [],
    webhook: [],
    account: [],
  };
  const end = run.warmupMs + run.measureMs;
  for (let t = run.warmupMs; t < end; t += 1000) {
    loop.at(t, () => {
      samples.stepsInFlight.push(world.steps.inFlight());
      samples.responderInFlight.push(world.inbound.inFlight());
      samples.sender.push(sender.busy);
      samples.responder.push(responder.busy);
      samples.webhook.push(world.webhook.busy);
      samples.account.push(world.account.busy);
    });
  }
  loop.runUntil(run.warmupMs);
  const before = {
    counters: { ...world.counters },
    steps: diff(world.steps.calls, {}),
    responder: diff(world.inbound.calls, {}),
    fns: [world.webhook, responder, sender].map((s) => ({
      invocations: s.invocations,
      billedMs: s.billedMs,
    })),
  };
  loop.runUntil(end);
  const fn = (s: FunctionStats, i: number) => ({
    invocations: s.invocations - (before.fns[i]?.invocations ?? 0),
    billedMs: s.billedMs - (before.fns[i]?.billedMs ?? 0),
  });
  return {
    sampledConversations: conversations.length,
    windowMs: run.measureMs,
    counters: diff(world.counters, before.counters) as SimCounters,
    calls: {
      steps: diff(world.steps.calls, before.steps),
      responder: diff(world.inbound.calls, before.responder),
    },
    functions: { webhook: fn(world.webhook, 0), responder: fn(responder, 1), sender: fn(sender, 2) },
    samples,
    graphPerAccountPerSecond: [...world.graphCalls.values()],
    messageLatenessMs: world.lateness,
    turnMs: world.turnMs,
    starvedReceives: world.steps.starvedReceives() + world.inbound.starvedReceives(),
    events: loop.processed(),
  };
};
