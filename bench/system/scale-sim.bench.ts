/**
 * The scale model against a discrete-event simulation of the pipeline, for 1,000 / 100,000 / 1,000,000
 * simultaneous conversations (docs/scale.md, "The scale model"). The simulation runs the project's own
 * planner (planPrelude, paceReply), quiet window (decideTurn), sender schedule (decideStep,
 * retryDelaySeconds) and shard hash (shardOf) under simulated SQS FIFO (in-flight quota, group order,
 * visibility), Lambda (mapping and account concurrency) and Graph (latency, per-account budget).
 *
 * Large sizes are simulated one shard at a time: the users shardOf puts in shard 0 (bench/support/sim-system.ts);
 * per-queue figures are measured, per-account ones are the shard's × shards. Reports figures side by side,
 * never a verdict.
 */
import type { Bench, Table } from '../support/report.ts';
import { FIFO_IN_FLIGHT_LIMIT } from '../support/sim-fifo.ts';
import {
  dollarsPerTurn,
  type ModelFigures,
  PRICES,
  STATED_MIX,
  scaleModel,
  turnShape,
  unpacedDollarsPerTurn,
} from '../support/sim-model.ts';
import { defaults, type SimLimits, type SimResult, simulateShard } from '../support/sim-system.ts';
import { distribution, fmt } from '../support/stats.ts';

const SIZES = [1_000, 100_000, 1_000_000];
/** One Page per 1,000 conversations: ~150 calls/s each, within Messenger's 300 per Page. */
const CONVERSATIONS_PER_ACCOUNT = 1_000;
/** Leave 20,000 of a queue's 120,000 in flight for retries and bursts. */
const IN_FLIGHT_PLANNED = 100_000;
/** AWS Lambda: an SQS mapping with MaximumConcurrency runs at most 1,000 instances. */
const MAPPING_CAP = 1_000;
/** High-throughput FIFO per action in the largest regions (the figure); 19,000 elsewhere. */
const HT_FIFO_TPS = 70_000;
const RUN = { warmupMs: 40_000, measureMs: 120_000, seed: 24 };

const config = defaults();
const shape = turnShape(STATED_MIX, config.plan, config.policy.RESPONDER_QUIET_MS);

/** The shards the model asks for: the largest of what each per-queue limit allows. */
export const shardsFor = (conversations: number): { shards: number; binding: string } => {
  const one = scaleModel(conversations, 1, 1, shape, STATED_MIX);
  const bounds: [string, number][] = [
    ['steps in flight', one.stepsInFlightPerQueue / IN_FLIGHT_PLANNED],
    ['responder in flight', one.responderInFlightPerQueue / IN_FLIGHT_PLANNED],
    ['sender mapping concurrency', one.senderConcurrency / MAPPING_CAP],
    ['responder mapping concurrency', one.responderConcurrency / MAPPING_CAP],
    ['receive TPS', one.receiveTps / HT_FIFO_TPS],
  ];
  const [binding, need] = bounds.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { shards: Math.max(1, Math.ceil(need)), binding };
};

const limitsFor = (conversations: number, shards: number, model: ModelFigures): SimLimits => {
  const small = shards === 1 && conversations <= 1_000;
  return {
    shards,
    shard: 0,
    inFlightLimit: FIFO_IN_FLIGHT_LIMIT,
    // The template's defaults at 1,000 conversations; the mapping cap beyond.
    senderMaxConcurrency: small ? 400 : MAPPING_CAP,
    responderMaxConcurrency: small ? 300 : MAPPING_CAP,
    responderBatchSize: 10,
    accountConcurrency: small
      ? 1_000
      : Math.ceil((model.senderConcurrency + model.responderConcurrency + model.webhookConcurrency) * 1.25),
    accounts: Math.max(1, conversations / CONVERSATIONS_PER_ACCOUNT),
    graphBudgetPerSecond: 300,
  };
};

const perSecond = (count: number | undefined, r: SimResult): number => ((count ?? 0) * 1000) / r.windowMs;
const mean = (xs: readonly number[]): number => distribution(xs).mean;

/** The simulation's figures in the model's terms (per queue measured; per account × shards). */
const simFigures = (r: SimResult, limits: SimLimits) => {
  const n = limits.shards;
  const turns = perSecond(r.counters.turns, r) * n;
  const billed = (ms: number) => (ms / 1000) * PRICES.memoryGb * PRICES.lambdaGbSecondArm;
  const fns = Object.values(r.functions);
  const sqsCalls = [...Object.values(r.calls.steps), ...Object.values(r.calls.responder)].reduce(
    (s, v) => s + v,
    0,
  );
  const dollars =
    fns.reduce((s, f) => s + billed(f.billedMs) + f.invocations * PRICES.lambdaRequest, 0) +
    sqsCalls * PRICES.sqsFifoRequest +
    r.counters.ddbReads * PRICES.ddbRead +
    r.counters.ddbWrites * PRICES.ddbWrite;
  return {
    turnsPerSecond: turns,
    stepsInFlightPerQueue: mean(r.samples.stepsInFlight),
    responderInFlightPerQueue: mean(r.samples.responderInFlight),
    receiveTps: perSecond(r.calls.steps.ReceiveMessage, r),
    deleteTps: perSecond(r.calls.steps.DeleteMessage, r),
    changeVisibilityTps: perSecond(r.calls.steps.ChangeMessageVisibility, r),
    sendBatchTps: perSecond(r.calls.steps.SendMessageBatch, r),
    senderConcurrency: mean(r.samples.sender) * n,
    responderConcurrency: mean(r.samples.responder) * n,
    webhookConcurrency: mean(r.samples.webhook) * n,
    ddbReadsPerSecond: perSecond(r.counters.ddbReads, r) * n,
    ddbWritesPerSecond: perSecond(r.counters.ddbWrites, r) * n,
    graphCallsPerAccountPerSecond: (perSecond(r.counters.graphCalls, r) * n) / limits.accounts,
    dollarsPerMillionTurns: (dollars / Math.max(1, r.counters.turns)) * 1e6,
  };
};

const ROWS: [string, keyof ReturnType<typeof simFigures>][] = [
  ['turns (replies) / s, all', 'turnsPerSecond'],
  ['steps queue in flight, per queue (mean)', 'stepsInFlightPerQueue'],
  ['responder queue in flight, per queue (mean)', 'responderInFlightPerQueue'],
  ['steps queue ReceiveMessage TPS, per queue', 'receiveTps'],
  ['steps queue DeleteMessage TPS, per queue', 'deleteTps'],
  ['steps queue ChangeMessageVisibility TPS, per queue', 'changeVisibilityTps'],
  ['steps queue SendMessageBatch TPS, per queue', 'sendBatchTps'],
  ['sender concurrency, all shards (mean)', 'senderConcurrency'],
  ['responder concurrency, all shards (mean)', 'responderConcurrency'],
  ['webhook concurrency (mean)', 'webhookConcurrency'],
  ['DynamoDB reads / s', 'ddbReadsPerSecond'],
  ['DynamoDB writes / s', 'ddbWritesPerSecond'],
  ['Graph calls / s per account', 'graphCallsPerAccountPerSecond'],
  ['$ per million replies', 'dollarsPerMillionTurns'],
];

const runSize = (conversations: number) => {
  const { shards, binding } = shardsFor(conversations);
  const model = scaleModel(
    conversations,
    shards,
    Math.max(1, conversations / CONVERSATIONS_PER_ACCOUNT),
    shape,
    STATED_MIX,
  );
  const limits = limitsFor(conversations, shards, model);
  const started = performance.now();
  const result = simulateShard({ ...RUN, conversations }, limits, STATED_MIX, shape.cycleMs);
  const wallMs = performance.now() - started;
  return { conversations, shards, binding, model, limits, result, sim: simFigures(result, limits), wallMs };
};

const sideBySide = (runs: ReturnType<typeof runSize>[]): Table => ({
  title: 'The scale model vs the simulation (model / simulated)',
  columns: ['figure', ...runs.map((r) => `${fmt(r.conversations)} conversations`)],
  rows: [
    ['queue shards (binding limit)', ...runs.map((r) => `${r.shards} (${r.binding})`)],
    ['accounts (Pages)', ...runs.map((r) => String(r.limits.accounts))],
    ['simulated users (shard 0)', ...runs.map((r) => String(r.result.sampledConversations))],
    ...ROWS.map(([label, key]) => [label, ...runs.map((r) => `${fmt(r.model[key])} / ${fmt(r.sim[key])}`)]),
  ],
  notes: [
    `mix: ${STATED_MIX.inboundChars}-character message, ${STATED_MIX.bubbles} bubbles of ${STATED_MIX.bubbleChars} characters, thinking ${STATED_MIX.thinkingMs / 1000} s, user ${STATED_MIX.userMs / 1000} s to read and write again, Graph ${STATED_MIX.graphMs} ms (±15 %); model turn cycle ${fmt(shape.cycleMs / 1000)} s`,
    `simulated ${RUN.warmupMs / 1000} s warm-up + ${RUN.measureMs / 1000} s measured; per-queue figures of shard 0; per-account figures × shards`,
  ],
});

const behaviour = (runs: ReturnType<typeof runSize>[]): Table => ({
  title: 'What the simulation shows beyond the model',
  columns: [
    'conversations',
    'message lateness p50 / p95 / p99 ms',
    'user message → last bubble p50 / p95 s',
    'peak steps in flight / queue',
    'peak sender / responder conc. (shard)',
    'Graph calls / s per account p99 (unsampled runs)',
    'throttled calls',
    'receives starved by the in-flight quota',
    'events',
    'wall s',
  ],
  rows: runs.map((r) => {
    const late = distribution(r.result.messageLatenessMs);
    const turn = distribution(r.result.turnMs);
    const graph = distribution(r.result.graphPerAccountPerSecond);
    return [
      r.conversations,
      `${fmt(late.p50)} / ${fmt(late.p95)} / ${fmt(late.p99)}`,
      `${fmt(turn.p50 / 1000)} / ${fmt(turn.p95 / 1000)}`,
      Math.max(...r.result.samples.stepsInFlight),
      `${Math.max(...r.result.samples.sender)} / ${Math.max(...r.result.samples.responder)}`,
      r.shards === 1 ? graph.p99 : null,
      r.result.counters.graphThrottled,
      r.result.starvedReceives,
      r.result.events,
      r.wallMs / 1000,
    ];
  }),
});

export const bench: Bench = {
  title: 'scale model vs discrete-event simulation: 1k / 100k / 1M simultaneous conversations',
  run: async () => {
    const runs = SIZES.map(runSize);
    const unpaced = unpacedDollarsPerTurn(STATED_MIX) * 1e6;
    const cost: Table = {
      title: '$ per million replies (model): paced vs an unpaced bot',
      columns: ['bot', '$ / million replies'],
      rows: [
        ['paced (this project)', dollarsPerTurn(shape, STATED_MIX) * 1e6],
        ['unpaced: one invocation thinks and posts every bubble', unpaced],
      ],
      notes: [
        'Lambda arm64 256 MB $0.0000133334/GB-s + $0.20/M, SQS FIFO $0.50/M, DynamoDB on demand $0.625/M writes, $0.125/M reads (us-east-1)',
      ],
    };
    return {
      tables: [sideBySide(runs), behaviour(runs), cost],
      data: {
        shape,
        runs: runs.map((r) => ({
          ...r,
          result: {
            ...r.result,
            messageLatenessMs: distribution(r.result.messageLatenessMs),
            turnMs: distribution(r.result.turnMs),
            graphPerAccountPerSecond: undefined,
          },
        })),
      },
    };
  },
};
