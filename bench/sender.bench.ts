/**
 * Billed time per step: wall time inside the REAL sender handler (functions/sender.ts) summed over every
 * invocation a step needs, for planned waits of 0, 3, 12 and 30 s. The four cases run at the same time on
 * one local stack (fauxqs with real visibility timeouts, the poller, a fake Graph), so they share the same
 * machine noise; real time, no time scale.
 */

import { enqueueSequence } from '../lib/producer.ts';
import { PAGE_ID, psidOf } from './support/meta.ts';
import type { Bench } from './support/report.ts';
import { startStack } from './support/stack.ts';
import { distribution } from './support/stats.ts';

const WAITS_MS = [0, 3_000, 12_000, 30_000];
const USERS_PER_CASE = 20;

export const bench: Bench = {
  title: 'billed time per step: sender handler wall time for planned waits of 0/3/12/30 s',
  run: async () => {
    const stack = await startStack();
    // Round-robin over the cases, one user every 150 ms: steady load, and every case sees the same moments.
    const cases = Array.from({ length: USERS_PER_CASE }, (_, u) =>
      WAITS_MS.map((waitMs, c) => ({ waitMs, user: 10_000 + c * 100 + u })),
    ).flat();
    const send = (waitMs: number, user: number) =>
      enqueueSequence(
        { sqs: stack.client, queueUrl: stack.sqs.queueUrl },
        {
          pageId: PAGE_ID,
          psid: psidOf(user),
          sequenceId: `m_billed_${waitMs}_${user}`,
          plannedAt: Date.now(),
          steps: [
            { action: { sender_action: 'mark_seen' }, delayMs: 0 },
            { action: { message: { text: `wait ${waitMs} ms` } }, delayMs: waitMs },
          ],
        },
      );
    try {
      // Warm-up: the handler's cold start (config, clients) and the sockets, outside the measured steps.
      await send(0, 9_999);
      while ((await stack.takeCalls()).every((c) => c.kind !== 'message'))
        await new Promise((r) => setTimeout(r, 100));
      stack.invocations.length = 0;
      for (const { waitMs, user } of cases) {
        await send(waitMs, user);
        await new Promise((r) => setTimeout(r, 150));
      }
      const expected = cases.length;
      const deadline = Date.now() + Math.max(...WAITS_MS) + 30_000;
      let messages = 0;
      while (messages < expected && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        messages += (await stack.takeCalls()).filter((c) => c.kind === 'message').length;
      }
      if (messages < expected) throw new Error(`only ${messages}/${expected} messages arrived`);
    } finally {
      await stack.stop();
    }
    // Per waited step (index 1): total billed, slept, invocations.
    const perStep = new Map<string, { waitMs: number; billed: number; slept: number; invocations: number }>();
    for (const inv of stack.invocations) {
      if (inv.index !== 1) continue;
      const waitMs = Number(inv.sequenceId.split('_')[2]);
      const s = perStep.get(inv.sequenceId) ?? { waitMs, billed: 0, slept: 0, invocations: 0 };
      s.billed += inv.durationMs;
      s.slept += inv.sleptMs;
      s.invocations += 1;
      perStep.set(inv.sequenceId, s);
    }
    const byWait = WAITS_MS.map((waitMs) => {
      const steps = [...perStep.values()].filter((s) => s.waitMs === waitMs);
      return {
        waitMs,
        billed: distribution(steps.map((s) => s.billed)),
        active: distribution(steps.map((s) => s.billed - s.slept)),
        slept: distribution(steps.map((s) => s.slept)),
        invocations: distribution(steps.map((s) => s.invocations)),
      };
    });
    const base = byWait[0]!;
    const rows = byWait.map(
      (w) =>
        [
          `${w.waitMs / 1000} s`,
          w.invocations.p50,
          w.billed.p50,
          w.billed.max,
          w.slept.p50,
          w.active.p50,
          w.billed.p50 / base.billed.p50,
          w.active.p50 / base.active.p50,
        ] as const,
    );
    const last = byWait[byWait.length - 1]!;
    const second = byWait[1]!;
    return {
      tables: [
        {
          title: "Billed time per step (sender handler wall time, summed over the step's invocations)",
          columns: [
            'planned wait',
            'invocations',
            'billed p50 ms',
            'billed max ms',
            'slept in handler p50 ms',
            'active (billed − slept) p50 ms',
            '÷ 0 s billed',
            '÷ 0 s active',
          ],
          rows,
          notes: [
            `${USERS_PER_CASE} users per case, one user every 150 ms round-robin over the cases after a warm-up, all four cases concurrently on one local stack (fauxqs visibility timeouts are real seconds; batch 1; 20 pollers).`,
            `Ratio 30 s ÷ 0 s: billed ${(last.billed.p50 / base.billed.p50).toFixed(2)} (goal ≤ 1.1), active ${(last.active.p50 / base.active.p50).toFixed(2)}; 30 s ÷ 3 s billed ${(last.billed.p50 / second.billed.p50).toFixed(2)}.`,
            'A waited step costs two invocations (one ChangeMessageVisibility deferral, then the send) whatever the wait; sub-second remainders above 250 ms are rounded up to the next second instead of slept (lib/config.ts), so whole-second waits sleep ≈ 0 in the handler.',
          ],
        },
      ],
      data: { byWait },
    };
  },
};
