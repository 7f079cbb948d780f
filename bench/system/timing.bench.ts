/**
 * Timing fidelity on the local stack: N users each get a planned multi-reply sequence (real planner,
 * real producer, fauxqs FIFO, the Lambda-like poller, the REAL sender handler, a recording fake Graph).
 * For every delivered step: planned gap vs actual gap at the Graph endpoint; plus order violations,
 * duplicates and lost messages per user. Draws bench/results/timeline.svg and gap-errors.svg.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPlanConfig } from '../../lib/pacing/config.ts';
import { planSequence } from '../../lib/pacing/plan.ts';
import { enqueueSequence, queuedStepsOf } from '../../lib/queue/producer.ts';
import { PAGE_ID, psidOf } from '../../local/meta.ts';
import { SENDER_MAX_CONCURRENCY } from '../../local/queue-attributes.ts';
import type { RecordedCall } from '../support/child-server.ts';
import { analyseUser, type PlannedStep, plannedOf, type UserFidelity } from '../support/fidelity.ts';
import { type Bench, resultsDir } from '../support/report.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { type Distribution, distribution } from '../support/stats.ts';
import { histogramSvg, type Lane, timelineSvg } from '../support/svg.ts';

const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? 0.5);
/** serverless.yml's senderMaxConcurrency default: the local ESM gets as many invocation slots. */
const DEFAULT_POLLERS = SENDER_MAX_CONCURRENCY;
/** The "cheapest" timing (README, Performance): nothing slept, sub-second rests rounded up. */
const TIMINGS = {
  exact: {},
  cheapest: { SENDER_DEFER_MAX_SLEEP_MS: '0', SENDER_INLINE_WAIT_MS: '0' },
  // Every user on one Page: the per-account call budget (docs/scale.md) paces what the Page may send.
  'no-budget': { SENDER_CALL_BUDGET: 'off' },
} as const;
type Timing = keyof typeof TIMINGS;
/** `users[@pollers][/cheapest|/no-budget]` cases; the default timing is exact, with the call budget on. */
const CASES = (process.env.BENCH_TIMING_CASES ?? '1,50,100,1000,50/cheapest').split(',').map((c) => {
  const [spec, mode] = c.split('/');
  const [users, pollers] = (spec ?? '').split('@').map(Number);
  const timing: Timing = mode === 'cheapest' || mode === 'no-budget' ? mode : 'exact';
  return { users: users!, pollers: pollers ?? DEFAULT_POLLERS, timing };
});
/** Users arrive spread evenly over this window ("N users arriving within one second"). */
const ARRIVAL_MS = Number(process.env.BENCH_ARRIVAL_MS ?? 1000);
const ACTION_KINDS = ['mark_seen', 'typing_on', 'message', 'react'] as const;
const planConfig = loadPlanConfig({ PLAN_TIME_SCALE: String(TIME_SCALE) });

const INBOUND = [
  'hi',
  'Do you deliver to Lyon on Saturdays?',
  'What time do you open tomorrow morning?',
  'Thanks a lot, see you soon',
];
const REPLIES = [
  'Hello!',
  'Yes, we deliver every day except Sunday.',
  'We open at 9 and close at 19, every weekday.',
  'You are welcome, have a lovely day and come back whenever you like!',
];

type UserPlan = { psid: string; planned: PlannedStep[] };

type CaseResult = {
  users: number;
  pollers: number;
  timing: Timing;
  steps: number;
  wallMs: number;
  fidelity: UserFidelity[];
  plans: UserPlan[];
  startedAt: number;
  invocations: number;
  deferrals: number;
  handlerMs: Distribution;
  /** CPU of the bench process (poller + sender handler + enqueues) per sender invocation. */
  cpuMsPerInvocation: number;
};

const pause = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

const gapsOf = (r: CaseResult, kind?: string) =>
  r.fidelity.flatMap((f) => f.gaps.filter((g) => kind === undefined || g.kind === kind));

/** Per action kind: how far its pause (the gap leading to it) was from the plan. */
const kindRows = (results: readonly CaseResult[]) =>
  results.flatMap((r) =>
    ACTION_KINDS.map((kind) => {
      const gaps = gapsOf(r, kind);
      const off = distribution(gaps.map((g) => Math.abs(g.errorMs)));
      const signed = distribution(gaps.map((g) => g.errorMs));
      return [
        `${r.users}${r.timing === 'exact' ? '' : ` (${r.timing})`}`,
        kind,
        gaps.length,
        off.p50,
        off.p95,
        off.p99,
        signed.min,
        signed.p50,
        signed.max,
      ] as const;
    }).filter((row) => row[2] > 0),
  );

/**
 * One throwaway step first, so the handler's cold start (config, clients, the first connections) is not
 * counted as the first user's lateness: in AWS, steady traffic meets warm containers (cold starts: coldstart).
 */
const warmUp = async (stack: Stack): Promise<void> => {
  const seq = {
    pageId: PAGE_ID,
    psid: psidOf(999_999),
    sequenceId: 'm_timing_warmup',
    steps: [{ action: { sender_action: 'mark_seen' as const }, delayMs: 0 }],
    plannedAt: Date.now(),
  };
  await enqueueSequence({ sqs: stack.client, queueUrl: stack.sqs.queueUrl }, seq);
  for (let waited = 0; waited < 10_000; waited += 100) {
    if ((await stack.takeCalls()).length > 0) break;
    await pause(100);
  }
  stack.invocations.length = 0;
};

const runCase = async (users: number, pollers: number, timing: Timing): Promise<CaseResult> => {
  const stack = await startStack({ maxConcurrency: pollers, env: { ...TIMINGS[timing] } });
  try {
    await warmUp(stack);
    const plans: UserPlan[] = [];
    const startedAt = Date.now();
    const cpuBefore = process.cpuUsage();
    await Promise.all(
      Array.from({ length: users }, async (_, u) => {
        await pause(startedAt + (u * ARRIVAL_MS) / users - Date.now());
        const psid = psidOf(u);
        const replies = [0, 1].map((k) => ({
          message: { text: `${REPLIES[(u + k) % REPLIES.length]} (u${u}/r${k})` },
        }));
        const steps = planSequence(
          { seed: `timing-${u}`, inboundText: INBOUND[u % INBOUND.length]!, replies },
          planConfig,
        );
        const seq = {
          pageId: PAGE_ID,
          psid,
          sequenceId: `m_timing_${users}_${u}`,
          steps,
          plannedAt: Date.now(),
        };
        plans.push({ psid, planned: plannedOf(queuedStepsOf(seq)) });
        await enqueueSequence({ sqs: stack.client, queueUrl: stack.sqs.queueUrl }, seq);
      }),
    );
    const expectedMessages = plans.reduce(
      (n, p) => n + p.planned.filter((s) => s.kind === 'message').length,
      0,
    );
    const calls: RecordedCall[] = [];
    let messages = 0;
    let lastProgress = Date.now();
    while (messages < expectedMessages && Date.now() - lastProgress < 20_000) {
      await new Promise((r) => setTimeout(r, 500));
      const fresh = await stack.takeCalls();
      if (fresh.length > 0) lastProgress = Date.now();
      calls.push(...fresh);
      messages = calls.filter((c) => c.kind === 'message').length;
    }
    // Anything still in flight (a duplicate, a late typing_on) has a moment to show up.
    await new Promise((r) => setTimeout(r, 1000));
    calls.push(...(await stack.takeCalls()));
    const wallMs = Date.now() - startedAt;
    const cpu = process.cpuUsage(cpuBefore);
    const byUser = Map.groupBy(calls, (c) => c.psid);
    const fidelity = plans.map((p) => analyseUser(p.planned, byUser.get(p.psid) ?? []));
    return {
      users,
      pollers,
      timing,
      steps: plans.reduce((n, p) => n + p.planned.length, 0),
      wallMs,
      fidelity,
      plans,
      startedAt,
      invocations: stack.invocations.length,
      deferrals: stack.invocations.filter((i) => !i.completed).length,
      handlerMs: distribution(stack.invocations.map((i) => i.durationMs)),
      cpuMsPerInvocation: (cpu.user + cpu.system) / 1000 / Math.max(1, stack.invocations.length),
    };
  } finally {
    await stack.stop();
  }
};

const lanesOf = (result: CaseResult, sample: number): Lane[] => {
  const step = Math.max(1, Math.floor(result.plans.length / sample));
  const lanes: Lane[] = [];
  for (let u = 0; u < result.plans.length && lanes.length < sample; u += step) {
    const plan = result.plans[u]!;
    const delivered = new Map(result.fidelity[u]!.delivered.map((d) => [d.index, d.actualAt]));
    lanes.push({
      label: `user ${u}`,
      steps: plan.planned.map((s) => {
        const actual = delivered.get(s.index);
        return {
          kind: s.kind,
          plannedMs: s.dueAt - result.startedAt,
          ...(actual !== undefined && { actualMs: actual - result.startedAt }),
        };
      }),
    });
  }
  return lanes;
};

export const bench: Bench = {
  title: `timing fidelity on the local stack (PLAN_TIME_SCALE=${TIME_SCALE})`,
  run: async () => {
    const results: CaseResult[] = [];
    for (const c of CASES) results.push(await runCase(c.users, c.pollers, c.timing));
    const rows = results.map((r) => {
      const off = distribution(gapsOf(r).map((g) => Math.abs(g.errorMs)));
      const signed = distribution(gapsOf(r).map((g) => g.errorMs));
      const first = distribution(
        r.fidelity.flatMap((f) => (f.firstLatencyMs === undefined ? [] : [f.firstLatencyMs])),
      );
      const sum = (pick: (f: UserFidelity) => number) => r.fidelity.reduce((n, f) => n + pick(f), 0);
      return [
        r.users,
        r.pollers,
        r.timing,
        r.steps,
        off.p50,
        off.p95,
        off.p99,
        signed.min,
        signed.max,
        first.p50,
        first.p99,
        r.handlerMs.mean,
        r.cpuMsPerInvocation,
        sum((f) => f.orderViolations),
        sum((f) => f.duplicates),
        sum((f) => f.lostMessages),
        sum((f) => f.skipped),
        r.deferrals,
        r.wallMs / 1000,
      ] as const;
    });
    // Panels: the two largest runs (a sample of ~10 users each), so drift and bunching show against scale.
    const shown = results.filter((r) => r.users > 1 && r.timing === 'exact').slice(-2);
    const timeline = join(resultsDir, 'timeline.svg');
    writeFileSync(
      timeline,
      timelineSvg(
        shown.map((r) => ({
          heading: `${r.users} concurrent users (10 shown), ${r.pollers} pollers`,
          lanes: lanesOf(r, 10),
        })),
        'Planned vs actual time of every step, per user',
        `local stack: fauxqs FIFO + poller (batch 1) + real sender handler + recording fake Graph; PLAN_TIME_SCALE=${TIME_SCALE}; x = seconds since the run started`,
      ),
    );
    const histogram = join(resultsDir, 'gap-errors.svg');
    writeFileSync(
      histogram,
      histogramSvg(
        // A run with a handful of gaps (1 user) would only add spikes: shown in the table instead.
        results
          .filter((r) => r.fidelity.reduce((n, f) => n + f.gaps.length, 0) >= 20)
          .map((r) => ({
            label: `${r.users} users, ${r.pollers} pollers, ${r.timing}`,
            values: r.fidelity.flatMap((f) => f.gaps.map((g) => g.errorMs)),
          })),
        'Gap error per step: actual gap at the Graph endpoint − planned gap',
        `PLAN_TIME_SCALE=${TIME_SCALE}; share of gaps per bin, per run`,
      ),
    );
    return {
      tables: [
        {
          title: `Timing fidelity, local stack (PLAN_TIME_SCALE=${TIME_SCALE})`,
          columns: [
            'users',
            'pollers',
            'timing',
            'steps',
            '|gap err| p50 ms',
            'p95',
            'p99',
            'err min',
            'err max',
            '1st step p50 ms',
            '1st step p99 ms',
            'handler ms/inv.',
            'CPU ms/inv.',
            'order viol.',
            'dupes',
            'lost msgs',
            'skipped typing',
            'deferrals',
            'wall s',
          ],
          rows,
          notes: [
            `Every planned delay is multiplied by PLAN_TIME_SCALE=${TIME_SCALE} to fit the 10-minute budget (delays ≥ 1 s still go through SQS ChangeMessageVisibility; shorter ones are slept in the handler).`,
            'Each user: mark_seen → read pause → typing_on → reply → pause → typing_on → reply (real planner). Gap = time between consecutive delivered steps of one user at the fake Graph; error = actual − planned.',
            `fauxqs and the fake Graph run in their own processes; the local ESM (5 receivers, "pollers" = invocation slots; ${DEFAULT_POLLERS} = serverless.yml senderMaxConcurrency) and the real sender handler (batch 1) in the bench process; all on one 2-core machine.`,
            `Users arrive spread evenly over ${ARRIVAL_MS} ms (BENCH_ARRIVAL_MS). |gap err| = |actual gap − planned gap|; "err min/max" are signed (negative: a pause shortened to absorb earlier lateness).`,
            '"CPU ms/inv." = CPU time of the bench process (local ESM + sender handler + enqueues) ÷ sender invocations: an upper bound on the handler\'s own CPU.',
            '"handler ms/inv." = mean wall time of one sender invocation (includes in-handler sleeps of sub-second remainders and waits ≤ SENDER_INLINE_WAIT_MS); with batch size 1 and N pollers, throughput ≤ N ÷ that.',
            '"1st step" = mark_seen arrival − time the sequence was planned (enqueue + first poll). "skipped typing" = typing_on dropped by design because it ran later than its skippableAfterMs.',
          ],
        },
        {
          title: 'Gap error per action kind (the pause leading to a step of that kind)',
          columns: ['users', 'kind', 'gaps', '|err| p50 ms', 'p95', 'p99', 'err min', 'err p50', 'err max'],
          rows: kindRows(results),
          notes: [
            'mark_seen has no gap of its own except between sequences; react appears only when the plan reacts. A kind with no gaps is left out.',
          ],
        },
      ],
      data: {
        timeScale: TIME_SCALE,
        cases: results.map((r) => ({
          users: r.users,
          pollers: r.pollers,
          timing: r.timing,
          handlerMs: r.handlerMs,
          steps: r.steps,
          wallMs: r.wallMs,
          invocations: r.invocations,
          deferrals: r.deferrals,
          cpuMsPerInvocation: r.cpuMsPerInvocation,
          gapErrorMs: distribution(r.fidelity.flatMap((f) => f.gaps.map((g) => g.errorMs))),
          gapErrorByPlannedGap: {
            under1s: distribution(
              r.fidelity.flatMap((f) => f.gaps.filter((g) => g.plannedMs < 1000).map((g) => g.errorMs)),
            ),
            atLeast1s: distribution(
              r.fidelity.flatMap((f) => f.gaps.filter((g) => g.plannedMs >= 1000).map((g) => g.errorMs)),
            ),
          },
        })),
      },
      files: [timeline, histogram],
    };
  },
};
