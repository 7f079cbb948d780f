/**
 * Billed time per step: wall time inside the REAL sender handler (functions/sender.ts) summed over every
 * invocation a step needs, for planned waits of 0, 3, 12 and 30 s, in three variants side by side: the
 * default (exact) timing against the local Graph fake answering at once and against the same fake holding
 * every answer back by a realistic Send API round trip (BENCH_GRAPH_LATENCY_MS, 150 ms by default; the real
 * one takes ~100–300 ms), and the "cheapest" timing (nothing slept) at that latency. Three local stacks
 * (fauxqs with real visibility timeouts, the ESM, a Graph child each) run at the same time in one process
 * and users are enqueued interleaved over all variants and waits, so every case shares the same machine
 * noise; real time, no time scale. Then the CPU and wall time of one invocation, alone; and what it costs.
 * Last, the user record read before every step (a person's hold, the quote decision): the handler with the
 * read on and off against dynalite, and its price per million steps (bench/sender/user-record-read.ts).
 */

import { enqueueSequence } from '../../lib/queue/producer.ts';
import { latencyFrom } from '../../local/graph-fake.ts';
import { PAGE_ID, psidOf } from '../../local/meta.ts';
import type { Bench, Cell } from '../support/report.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { type Distribution, distribution } from '../support/stats.ts';
import { measureInvocationCost } from './invocation-cost.ts';
import { measureUserRecordRead, PRICE_PER_MILLION_RRU, RRU_PER_CONSISTENT_READ } from './user-record-read.ts';

const WAITS_MS = [0, 3_000, 12_000, 30_000];
const USERS_PER_CASE = 30;
/** Between two enqueued users (over both stacks): each stack sees one new user every 200 ms. */
const ENQUEUE_EVERY_MS = 100;
/** The goal (#13): billed time per waited step ≤ the Graph latency + this, whatever the pause. */
const GOAL_EXTRA_MS = 1000;
/** AWS Lambda pricing (us-east-1, arm64): per GB-second of billed duration, per request; 256 MB functions. */
const PRICE_PER_GB_SECOND = 0.000_013_333_4;
const PRICE_PER_REQUEST = 0.000_000_2;
const MEMORY_GB = 0.25;
/** The "cheapest" timing: nothing slept; sub-second rests rounded up to the next second (README). */
const CHEAPEST = { SENDER_DEFER_MAX_SLEEP_MS: '0', SENDER_INLINE_WAIT_MS: '0' };

type Variant = { label: string; latencyMs: number; env?: Record<string, string> };

/** Dollars per million steps from a mean billed time and a mean invocation count per step. */
const dollarsPerMillion = (billedMs: number, invocations: number): number =>
  ((billedMs / 1000) * MEMORY_GB * PRICE_PER_GB_SECOND + invocations * PRICE_PER_REQUEST) * 1e6;
/** Sequence id prefixes: measured users, and the unmeasured filler that keeps the load steady. */
const MEASURED = 'm_billed_';
const FILLER = 'm_filler_';

const realisticLatencyMs = (): number =>
  latencyFrom(process.env.BENCH_GRAPH_LATENCY_MS || '150', 'BENCH_GRAPH_LATENCY_MS');

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

type StepCost = {
  waitMs: number;
  billed: number;
  slept: number;
  invocations: number;
  /** Billed time of the invocations that did not send (the ChangeMessageVisibility deferrals). */
  deferral: number;
};

type WaitResult = {
  waitMs: number;
  billed: Distribution;
  slept: Distribution;
  invocations: Distribution;
  deferral: Distribution;
  sending: Distribution;
};

/** Per waited step (index 1 of each sequence): billed, slept and invocation count, grouped by planned wait. */
const costsByWait = (stack: Stack): WaitResult[] => {
  const perStep = new Map<string, StepCost>();
  for (const inv of stack.invocations) {
    if (inv.index !== 1 || !inv.sequenceId.startsWith(MEASURED)) continue;
    const waitMs = Number(inv.sequenceId.split('_')[2]);
    const s = perStep.get(inv.sequenceId) ?? { waitMs, billed: 0, slept: 0, invocations: 0, deferral: 0 };
    s.billed += inv.durationMs;
    s.slept += inv.sleptMs;
    s.invocations += 1;
    if (!inv.completed) s.deferral += inv.durationMs;
    perStep.set(inv.sequenceId, s);
  }
  return WAITS_MS.map((waitMs) => {
    const steps = [...perStep.values()].filter((s) => s.waitMs === waitMs);
    const deferred = steps.filter((s) => s.invocations > 1);
    return {
      waitMs,
      billed: distribution(steps.map((s) => s.billed)),
      slept: distribution(steps.map((s) => s.slept)),
      invocations: distribution(steps.map((s) => s.invocations)),
      deferral: distribution(deferred.map((s) => s.deferral)),
      sending: distribution(steps.map((s) => s.billed - s.deferral)),
    };
  });
};

const byWaitMs = (rows: readonly WaitResult[], waitMs: number): WaitResult => {
  const row = rows.find((r) => r.waitMs === waitMs);
  if (!row) throw new Error(`no result for a ${waitMs} ms wait`);
  return row;
};

const orNull = (value: number): number | null => (Number.isNaN(value) ? null : value);

export const bench: Bench = {
  title:
    'billed time per step: sender handler wall time for planned waits of 0/3/12/30 s, Graph at 0 and ~150 ms',
  run: async () => {
    const latency = realisticLatencyMs();
    const variants: Variant[] = [
      { label: 'exact, Graph 0 ms', latencyMs: 0 },
      { label: `exact, Graph ${latency} ms`, latencyMs: latency },
      { label: `cheapest, Graph ${latency} ms`, latencyMs: latency, env: CHEAPEST },
    ];
    const stacks = await Promise.all(
      variants.map((v) => startStack({ graphLatencyMs: v.latencyMs, ...(v.env && { env: v.env }) })),
    );
    const send = (stack: Stack, waitMs: number, user: number, prefix = MEASURED) =>
      enqueueSequence(
        { sqs: stack.client, queueUrl: stack.sqs.queueUrl },
        {
          pageId: PAGE_ID,
          psid: psidOf(user),
          sequenceId: `${prefix}${waitMs}_${user}`,
          plannedAt: Date.now(),
          steps: [
            { action: { sender_action: 'mark_seen' }, delayMs: 0 },
            {
              action: { message: { text: prefix === MEASURED ? `wait ${waitMs} ms` : 'filler' } },
              delayMs: waitMs,
            },
          ],
        },
      );
    const awaitMessages = async (stack: Stack, expected: number, deadline: number) => {
      let messages = 0;
      while (messages < expected && Date.now() < deadline) {
        await pause(250);
        const calls = await stack.takeCalls();
        messages += calls.filter((c) => c.kind === 'message' && c.text?.startsWith('wait ')).length;
      }
      return messages;
    };
    // Round-robin over waits, and over variants in rotating order, one user every ENQUEUE_EVERY_MS:
    // steady load, and every case sees the same moments.
    const schedule = Array.from({ length: USERS_PER_CASE }, (_, u) =>
      WAITS_MS.flatMap((waitMs, c) =>
        variants.map((_, k) => ({ s: (u + c + k) % variants.length, waitMs, user: 10_000 + c * 100 + u })),
      ),
    ).flat();
    try {
      // Warm-up: each handler's cold start (config, clients) and sockets, outside the measured steps.
      await Promise.all(stacks.map((stack) => send(stack, 0, 9_999)));
      const warm = await Promise.all(stacks.map((stack) => awaitMessages(stack, 1, Date.now() + 30_000)));
      if (warm.some((m) => m < 1)) throw new Error('warm-up message never arrived');
      for (const stack of stacks) stack.invocations.length = 0;
      for (const { s, waitMs, user } of schedule) {
        await send(stacks[s]!, waitMs, user);
        await pause(ENQUEUE_EVERY_MS);
      }
      // Filler users (0 s waits, not measured) keep the same load until the last measured send: otherwise
      // the long waits' sends would run on an idle machine and the short ones on a busy one.
      let measuring = true;
      const filler = (async () => {
        for (let n = 0; measuring; n += 1) {
          await send(stacks[n % stacks.length]!, 0, 20_000 + n, FILLER);
          await pause(ENQUEUE_EVERY_MS);
        }
      })();
      const deadline = Date.now() + Math.max(...WAITS_MS) + 30_000;
      const expected = USERS_PER_CASE * WAITS_MS.length;
      const arrived = await Promise.all(stacks.map((stack) => awaitMessages(stack, expected, deadline)));
      measuring = false;
      await filler;
      arrived.forEach((messages, i) => {
        if (messages < expected)
          throw new Error(`${variants[i]?.label}: only ${messages}/${expected} messages arrived`);
      });
    } finally {
      await Promise.all(stacks.map((stack) => stack.stop()));
    }

    const results = variants.map((variant, i) => {
      const byWait = costsByWait(stacks[i]!);
      const zero = byWaitMs(byWait, 0);
      const three = byWaitMs(byWait, 3_000);
      const thirty = byWaitMs(byWait, 30_000);
      const waited = byWait.filter((w) => w.waitMs > 0);
      return {
        ...variant,
        byWait,
        ratio30to3: thirty.billed.p50 / three.billed.p50,
        worstWaitedP50: Math.max(...waited.map((w) => w.billed.p50)),
        sendP50: zero.billed.p50,
      };
    });
    const cost = await measureInvocationCost();
    const userRead = await measureUserRecordRead();
    const readDollars = RRU_PER_CONSISTENT_READ * PRICE_PER_MILLION_RRU;
    const readRows: Cell[][] = [
      ['read off (record in memory)', userRead.readOff.p50, userRead.readOff.p95, userRead.readOff.p99, 0],
      [
        'read on (GetItem, ConsistentRead)',
        userRead.readOn.p50,
        userRead.readOn.p95,
        userRead.readOn.p99,
        readDollars,
      ],
      [
        'added by the read (on − off)',
        userRead.readOn.p50 - userRead.readOff.p50,
        userRead.readOn.p95 - userRead.readOff.p95,
        userRead.readOn.p99 - userRead.readOff.p99,
        readDollars,
      ],
      ['the GetItem alone', userRead.read.p50, userRead.read.p95, userRead.read.p99, readDollars],
    ];

    const rows: Cell[][] = results.flatMap((r) =>
      r.byWait.map((w) => [
        r.label,
        `${w.waitMs / 1000} s`,
        w.invocations.mean,
        w.billed.p50,
        w.billed.max,
        w.slept.p50,
        orNull(w.deferral.p50),
        w.sending.p50,
        dollarsPerMillion(w.billed.mean, w.invocations.mean),
      ]),
    );
    const verdict = (r: (typeof results)[number]) =>
      `${r.label}: worst waited step p50 ${r.worstWaitedP50.toFixed(0)} ms vs the goal Graph + ${GOAL_EXTRA_MS} ms = ${r.latencyMs + GOAL_EXTRA_MS} ms — ${r.worstWaitedP50 <= r.latencyMs + GOAL_EXTRA_MS ? 'MET' : 'NOT MET'}; 30 s ÷ 3 s = ${r.ratio30to3.toFixed(2)}; a 0 s step ${r.sendP50.toFixed(0)} ms.`;
    const costRows: Cell[][] = cost.map((c) => [
      {
        send: 'sending (step due, Graph 0 ms)',
        defer: 'deferring (ChangeMessageVisibility)',
        'send + sent-step record':
          'sending a redelivered message with the state table (GetItem ×3: abort, user record, sent step; PutItem)',
      }[c.shape],
      c.cpuMs,
      c.wall.p50,
      c.wall.p99,
    ]);
    return {
      tables: [
        {
          title: "Billed time per step (sender handler wall time, summed over the step's invocations)",
          columns: [
            'variant',
            'planned wait',
            'invocations',
            'billed p50 ms',
            'billed max ms',
            'slept in handler p50 ms',
            'deferral invocation p50 ms',
            'sending invocation p50 ms',
            '$ per million steps',
          ],
          rows,
          notes: [
            `${USERS_PER_CASE} users per case; three stacks at once, users enqueued every ${ENQUEUE_EVERY_MS} ms interleaved over every variant and wait after a warm-up, then unmeasured 0 s users at the same pace until the last measured send, so every invocation runs under the same load (fauxqs visibility timeouts are real seconds; batch 1).`,
            ...results.map(verdict),
            `$ per million steps: mean billed ms × ${MEMORY_GB} GB × $${PRICE_PER_GB_SECOND}/GB-s + mean invocations × $${PRICE_PER_REQUEST} (AWS Lambda pricing, arm64, us-east-1; Lambda bills each invocation rounded up to 1 ms).`,
            'Why: whatever the wait, a waited step costs one extra invocation (the ChangeMessageVisibility deferral, no Graph call) and, when exact, the sub-second rest of its wait slept before the send — SQS visibility counts whole seconds, so that rest (< 1 s) can only be slept or rounded up. Nothing grows with the wait (30 s ÷ 3 s ≈ 1). "cheapest" sleeps nothing and lands up to 1 s late.',
          ],
        },
        {
          title: 'One sender invocation alone (real handler, one in flight, Graph stand-in at 0 ms)',
          columns: ['invocation', 'CPU ms', 'wall p50 ms', 'wall p99 ms'],
          rows: costRows,
          notes: [
            'CPU = process.cpuUsage() around the handler call (user + system), averaged over the rounds. In Lambda the billed duration is the wall time, dominated by the Graph round trip and the slept rest, not by CPU: concurrency is the resource to size (README, Performance).',
          ],
        },
        {
          title: 'The user record read before every step (docs/takeover.md), against dynalite',
          columns: [
            'sender invocation',
            'wall p50 ms',
            'wall p95 ms',
            'wall p99 ms',
            'DynamoDB $ per million steps',
          ],
          rows: readRows,
          notes: [
            `${userRead.readOn.n} invocations each, read on and off interleaved, one at a time, after a warm-up: the real handler, a due message on its second receive (abort, sent-step and — when on — user-record reads, sent-step write), Graph and SQS answered by a stand-in at 0 ms, the state table on dynalite over loopback (a DynamoDB implementation, not AWS: an in-region GetItem takes its own few ms).`,
            `Price: the read is strongly consistent (ConsistentRead: true, lib/platform/state-table.ts), 1 RRU for an item ≤ 4 KB, at $${PRICE_PER_MILLION_RRU} per million RRU (DynamoDB on-demand, us-east-1); an eventually consistent read would be half.`,
          ],
        },
      ],
      data: { variants, results, invocationCost: cost, userRecordRead: userRead },
    };
  },
};
