/**
 * The responder stage, in real time on the local stack (webhook → responder queue → responder function →
 * steps queue → sender → Graph fake): responders that think 0, 2, 10 and 60 s, measured side by side
 * (interleaved posts, one run). Answers issue #12's questions: does the webhook's answer to Meta depend on
 * the responder (goal: p99 ratio to the 0 s case ≤ 1.2)? How soon does typing show? Does the bubble lapse
 * while the bot thinks? When does the reply go out against the plan? What does an inbound message bill?
 */

import type { Responder } from '../../lib/bots/responder.ts';
import { loadPlanConfig } from '../../lib/pacing/config.ts';
import { typingMs } from '../../lib/pacing/plan.ts';
import { decodeInbound } from '../../lib/queue/inbound-codec.ts';
import type { Reply } from '../../lib/queue/reply.ts';
import { startStack } from '../../local/stack.ts';
import type { Bench } from '../support/report.ts';
import { discardTelemetry } from '../support/stack.ts';
import { distribution } from '../support/stats.ts';

const THINK_S = [0, 2, 10, 60];
const USERS_PER_VARIANT = Number(process.env.BENCH_RESPONDER_USERS ?? 25);
const REPLY: Reply = { message: { text: 'Here is what I found for you.' } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const thinkOf = (psid: string): number => Number(/^r(\d+)-/.exec(psid)?.[1] ?? 0);

export const bench: Bench = {
  title: 'responder stage: webhook ack, typing and reply timing, billed time, for responders of 0–60 s',
  run: async () => {
    const thinkEnd = new Map<string, number>();
    const billed = { responder: 0, sender: 0 };
    const responder: Responder = async (event) => {
      await sleep(thinkOf(event.psid) * 1000);
      thinkEnd.set(event.psid, Date.now());
      return [REPLY];
    };
    const env = { PLAN_JITTER: '0' };
    const stack = await startStack({
      env,
      maxConcurrency: 20,
      webhookOverrides: { telemetry: discardTelemetry() },
      senderOverrides: { telemetry: discardTelemetry() },
      responderOverrides: { telemetry: discardTelemetry(), responder },
      onBatch: (report) => {
        const inbound = report.records.some((r) => decodeInbound(r.body).ok);
        billed[inbound ? 'responder' : 'sender'] += Math.max(1, report.durationMs);
      },
    });
    const posted = new Map<string, number>();
    const ack = new Map<number, number[]>(THINK_S.map((s) => [s, []]));
    try {
      // Interleaved: one user of each variant after the other, so machine noise spreads over all four.
      for (let i = 0; i < USERS_PER_VARIANT; i++) {
        for (const s of THINK_S) {
          const psid = `r${s}-${i}`;
          const started = performance.now();
          posted.set(psid, Date.now());
          const answer = await stack.say(psid, { text: 'where is my order?' });
          if (answer.status !== 200) throw new Error(`webhook answered ${answer.status}`);
          ack.get(s)?.push(performance.now() - started);
        }
      }
      const all = [...posted.keys()];
      const deadline = Date.now() + (Math.max(...THINK_S) + 30) * 1000;
      while (
        Date.now() < deadline &&
        !all.every((p) => stack.graph?.callsFor(p).some((c) => c.kind === 'message'))
      )
        await sleep(250);
      await sleep(1000);
      return report(stack, posted, ack, thinkEnd, billed, loadPlanConfig(env));
    } finally {
      await stack.stop();
    }
  },
};

type StackLike = Awaited<ReturnType<typeof startStack>>;

const report = (
  stack: StackLike,
  posted: Map<string, number>,
  ack: Map<number, number[]>,
  thinkEnd: Map<string, number>,
  billed: { responder: number; sender: number },
  planConfig: ReturnType<typeof loadPlanConfig>,
) => {
  const typing = Math.round(typingMs(REPLY, planConfig));
  const base = distribution(ack.get(0) ?? []);
  const rows = THINK_S.map((s) => {
    const users = [...posted.keys()].filter((p) => thinkOf(p) === s);
    const firstTyping: number[] = [];
    const gaps: number[] = [];
    const lateness: number[] = [];
    const replyAfter: number[] = [];
    for (const psid of users) {
      const calls = stack.graph?.callsFor(psid) ?? [];
      const start = posted.get(psid) ?? 0;
      const typingOn = calls.find((c) => c.kind === 'typing_on');
      const message = calls.find((c) => c.kind === 'message');
      if (typingOn) firstTyping.push(typingOn.at - start);
      for (let i = 1; i < calls.length; i++)
        if (calls[i - 1]?.kind === 'typing_on') gaps.push((calls[i]?.at ?? 0) - (calls[i - 1]?.at ?? 0));
      if (message && typingOn) {
        replyAfter.push(message.at - start);
        // The rule: max(thinking done, typing start + planned typing time); never their sum.
        const due = Math.max(thinkEnd.get(psid) ?? 0, typingOn.at + typing);
        lateness.push(message.at - due);
      }
    }
    const a = distribution(ack.get(s) ?? []);
    const answered = replyAfter.length;
    return [
      `${s} s`,
      Math.round(a.p50 * 10) / 10,
      Math.round((a.p50 / base.p50) * 100) / 100,
      Math.round(a.p99 * 10) / 10,
      Math.round((a.p99 / base.p99) * 100) / 100,
      Math.round(distribution(firstTyping).p50),
      gaps.length ? Math.max(...gaps) : 0,
      Math.round(distribution(replyAfter).p50),
      Math.round(distribution(lateness).p50),
      `${answered}/${users.length}`,
    ];
  });
  const messages = posted.size;
  return {
    tables: [
      {
        title: 'Webhook ack vs responder latency, and what the user sees (real time, local stack)',
        columns: [
          'responder thinks',
          'ack p50 ms',
          'p50 ÷ 0 s',
          'ack p99 ms',
          'p99 ÷ 0 s',
          'inbound → typing_on p50 ms',
          'largest typing gap ms',
          'inbound → reply p50 ms',
          'reply − rule p50 ms',
          'answered',
        ],
        rows,
        notes: [
          `${USERS_PER_VARIANT} users per variant, posts interleaved; p99 of ${USERS_PER_VARIANT} samples ≈ the maximum. PLAN_JITTER=0 so the planned typing time (${typing} ms for the reply) is known exactly.`,
          'reply − rule: the message against max(thinking done, first typing_on + planned typing) — the rule of issue #12; includes the quiet window (2 s, whole seconds) only where thinking ends before the plan.',
          'largest typing gap: between a typing_on and the next Graph call of that user (Messenger drops the bubble after ~20 s).',
        ],
      },
      {
        title: 'Billed time per inbound message (local event source mappings, all variants together)',
        columns: ['function', 'ms per inbound message'],
        rows: [
          ['responder', Math.round(billed.responder / messages)],
          ['sender', Math.round(billed.sender / messages)],
          [
            'ideal responder (its own thinking: mean of 0/2/10/60 s)',
            Math.round((THINK_S.reduce((x, y) => x + y, 0) * 1000) / THINK_S.length),
          ],
        ],
        notes: [
          'Invocation durations as the local event source mappings measure them (≥ 1 ms each); quiet-window deferrals are invocations too.',
        ],
      },
    ],
  };
};
