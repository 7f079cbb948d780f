/**
 * A hot Page: one Messenger Page offered 3× the calls per second its Graph limit allows, through the local
 * stack (fauxqs with real visibility timeouts, the event-source-mapping poller, the REAL sender handler)
 * against the strict local Graph fake enforcing that limit per account with the real 613 body of the shared
 * corpus (read at run time). Two stacks side by side in one run, users enqueued interleaved: per-account
 * call budgets on (SENDER_CALL_BUDGET=on) and off. Reports messages delivered, lost and reordered, message
 * lateness against the plan, the share of cosmetic steps shed, and the 613s Graph answered.
 */
import { join } from 'node:path';
import { enqueueSequence } from '../../lib/queue/producer.ts';
import type { Step } from '../../lib/queue/step.ts';
import { PAGE_ID, psidOf } from '../../local/meta.ts';
import { corpusDir } from '../../test/support/corpus.ts';
import type { RecordedCall } from '../support/child-server.ts';
import type { Bench, Cell } from '../support/report.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { distribution } from '../support/stats.ts';

/** The Page's Graph limit in the fake, calls/s: scaled down from Messenger's 300 so a shared 2-core machine keeps up. */
const LIMIT = Number(process.env.BENCH_HOT_LIMIT ?? 10);
/** One reply: seen, typing, two refreshes, the message, a second apart: 5 calls over 4 s. */
const REPLY: Step[] = [
  { action: { sender_action: 'mark_seen' }, delayMs: 0 },
  { action: { sender_action: 'typing_on' }, delayMs: 1000, skippableAfterMs: 3000 },
  { action: { sender_action: 'typing_on' }, delayMs: 1000, skippableAfterMs: 2000, refresh: true },
  { action: { sender_action: 'typing_on' }, delayMs: 1000, skippableAfterMs: 1000, refresh: true },
  { action: { message: { text: 'the reply' } }, delayMs: 1000 },
];
const MESSAGE_AT_MS = 4000;
/** Users per second for an offered load of 3× the limit (5 calls each). */
const USERS_PER_SECOND = (3 * LIMIT) / REPLY.length;
const SECONDS = Number(process.env.BENCH_HOT_SECONDS ?? 20);
const USERS = Math.round(USERS_PER_SECOND * SECONDS);
/** Give up waiting once no message arrived for this long (a lost message shows as one not delivered). */
const QUIET_MS = 45_000;

type Variant = { label: string; budget: 'on' | 'off' };
const VARIANTS: Variant[] = [
  { label: 'budgets on', budget: 'on' },
  { label: 'budgets off', budget: 'off' },
];

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects every call of a stack until each user's message arrived or nothing came for QUIET_MS. */
const collect = async (stack: Stack, calls: RecordedCall[], done: () => boolean) => {
  let lastMessage = Date.now();
  while (!done() && Date.now() - lastMessage < QUIET_MS) {
    await pause(500);
    const taken = await stack.takeCalls();
    if (taken.some((c) => c.kind === 'message' && c.status === 200)) lastMessage = Date.now();
    calls.push(...taken);
  }
};

type Outcome = {
  delivered: number;
  lost: number;
  reordered: number;
  lateness: ReturnType<typeof distribution>;
  shedShare: number;
  refused: number;
  refusedMessages: number;
  calls: number;
};

/** A user's successful calls out of plan order: anything after the message, or a seen after a typing. */
const reorderedUsers = (calls: RecordedCall[]): number => {
  const byUser = new Map<string, RecordedCall[]>();
  for (const c of calls.filter((c) => c.status === 200).sort((a, b) => a.at - b.at))
    byUser.set(c.psid, [...(byUser.get(c.psid) ?? []), c]);
  let reordered = 0;
  for (const list of byUser.values()) {
    const kinds = list.map((c) => c.kind);
    const message = kinds.indexOf('message');
    const seen = kinds.indexOf('mark_seen');
    const typing = kinds.indexOf('typing_on');
    if ((message !== -1 && message !== kinds.length - 1) || (seen !== -1 && typing !== -1 && seen > typing))
      reordered += 1;
  }
  return reordered;
};

const outcomeOf = (calls: RecordedCall[], plannedAt: Map<string, number>): Outcome => {
  const ok = calls.filter((c) => c.status === 200);
  const messages = ok.filter((c) => c.kind === 'message');
  const delivered = new Set(messages.map((c) => c.psid)).size;
  const lateness = messages.map((c) => c.at - ((plannedAt.get(c.psid) ?? c.at) + MESSAGE_AT_MS));
  const cosmeticSent = ok.filter((c) => c.kind !== 'message').length;
  const cosmeticOffered = USERS * (REPLY.length - 1);
  const refused = calls.filter((c) => c.status === 400);
  return {
    delivered,
    lost: USERS - delivered,
    reordered: reorderedUsers(calls),
    lateness: distribution(lateness),
    shedShare: 1 - cosmeticSent / cosmeticOffered,
    refused: refused.length,
    refusedMessages: refused.filter((c) => c.kind === 'message').length,
    calls: calls.length,
  };
};

const enqueueUsers = async (stacks: Stack[], plannedAt: Map<string, number>[]) => {
  const started = Date.now();
  for (let user = 0; user < USERS; user += 1) {
    const at = started + (user * 1000) / USERS_PER_SECOND;
    if (at > Date.now()) await pause(at - Date.now());
    await Promise.all(
      stacks.map((stack, i) => {
        const now = Date.now();
        plannedAt[i]?.set(psidOf(user), now);
        return enqueueSequence(
          { sqs: stack.client, queueUrl: stack.sqs.queueUrl },
          { pageId: PAGE_ID, psid: psidOf(user), sequenceId: `m_hot_${user}`, plannedAt: now, steps: REPLY },
        );
      }),
    );
  }
};

const ms = (v: number): string => (Number.isFinite(v) ? `${Math.round(v).toLocaleString('en-US')}` : '–');

export const bench: Bench = {
  title: `hot Page: ${3 * LIMIT} calls/s offered against a ${LIMIT} calls/s Graph limit, budgets on vs off`,
  run: async () => {
    const bodyFile = join(corpusDir, 'graph-errors', '613-rate-limit.json');
    const stacks = await Promise.all(
      VARIANTS.map((v) =>
        startStack({
          graphLatencyMs: 0,
          graphArgs: ['--rate-limit', String(LIMIT), '--rate-limit-body', bodyFile],
          env: { SENDER_CALL_BUDGET: v.budget, SENDER_ACCOUNT_CALLS_PER_SECOND: String(LIMIT) },
        }),
      ),
    );
    try {
      const plannedAt = VARIANTS.map(() => new Map<string, number>());
      const calls: RecordedCall[][] = VARIANTS.map(() => []);
      const allIn = (i: number) => () =>
        new Set(calls[i]?.filter((c) => c.kind === 'message' && c.status === 200).map((c) => c.psid)).size >=
        USERS;
      const collecting = stacks.map((stack, i) => collect(stack, calls[i] ?? [], allIn(i)));
      await enqueueUsers(stacks, plannedAt);
      await Promise.all(collecting);
      const outcomes = VARIANTS.map((_, i) => outcomeOf(calls[i] ?? [], plannedAt[i] ?? new Map()));
      const rows: Cell[][] = VARIANTS.map((v, i) => {
        const o = outcomes[i];
        if (!o) return [v.label];
        return [
          v.label,
          `${o.delivered} / ${USERS}`,
          o.lost,
          o.reordered,
          ms(o.lateness.p50),
          ms(o.lateness.p95),
          `${(o.shedShare * 100).toFixed(1)} %`,
          o.refused,
          o.refusedMessages,
          o.calls,
        ];
      });
      return {
        tables: [
          {
            title: `Hot Page: ${USERS} replies of ${REPLY.length} calls over ${SECONDS} s (${3 * LIMIT} calls/s offered, Graph limit ${LIMIT}/s, budget ${Math.floor(LIMIT * 0.8)}/s)`,
            columns: [
              'variant',
              'messages delivered',
              'lost',
              'users reordered',
              'message lateness p50 ms',
              'p95 ms',
              'cosmetic steps shed',
              '613 answers',
              'of which messages',
              'Graph calls',
            ],
            rows,
            notes: [
              'Lateness: message call at the fake Graph minus its planned time (enqueue + 4 s). A 613 counts against the limit too.',
              "The fake's limit is per fixed epoch second (local/rate-limit.ts); budgets share the same clock.",
            ],
          },
        ],
        data: { limit: LIMIT, users: USERS, seconds: SECONDS, outcomes },
      };
    } finally {
      await Promise.all(stacks.map((s) => s.stop()));
    }
  },
};
