/**
 * Load: 10,000 inbound messaging events (2,000 users × 5 messages, in Meta-sized bodies of 100 events)
 * through the whole local stack — the REAL webhook handler enqueuing on fauxqs, the poller, the REAL
 * sender handler, a recording fake Graph — with every pause planned at zero (PLAN_TIME_SCALE=0) so the
 * run measures throughput, not typing time. Reports wall time per stage, throughput, peak RSS of each
 * process, and the delivery invariants (every reply exactly once, per-user order).
 */
import { readFileSync } from 'node:fs';
import { batchedWebhookBody, type MessageSpec, postEvent, signatureOf } from '../../local/meta.ts';
import type { Bench } from '../support/report.ts';
import { BENCH_APP_SECRET, discardTelemetry, inBatches, startStack } from '../support/stack.ts';

const USERS = Number(process.env.BENCH_LOAD_USERS ?? 2_000);
const PER_USER = 5;
const PER_BODY = 100;

/** Resident set size of a process in MiB (Linux /proc); VmHWM is the peak. */
const procMemory = (pid: number): { rss: number; peak: number } => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, peak: 0 };
  }
};

export const bench: Bench = {
  title: `load: ${USERS * PER_USER} inbound events through the local stack`,
  run: async () => {
    // One reply naming the turn's last message, so each user's replies can be checked for order; messages a
    // user sent before the bot answered are merged into one turn (issue #12) and counted as such.
    let merged = 0;
    const stack = await startStack({
      responder: (event, turn) => {
        merged += turn.events.length - 1;
        return [{ message: { text: `re: ${event.text ?? ''}` } }];
      },
      env: { PLAN_TIME_SCALE: '0' },
    });
    const peaks = { bench: 0, sqs: 0, graph: 0 };
    const sample = () => {
      peaks.bench = Math.max(peaks.bench, process.memoryUsage().rss / 1024 / 1024);
      peaks.sqs = Math.max(peaks.sqs, procMemory(stack.pids.sqs).peak);
      peaks.graph = Math.max(peaks.graph, procMemory(stack.pids.graph).peak);
    };
    const sampler = setInterval(sample, 250);
    const { makeHandler } = await import('../../functions/webhook.ts');
    const webhook = makeHandler(
      {
        ...stack.sqs.env,
        ...stack.responderEnv,
        META_APP_SECRET: BENCH_APP_SECRET,
        META_VERIFY_TOKEN: 'load-verify',
        PLAN_TIME_SCALE: '0',
      },
      {
        sqs: stack.client,
        telemetry: discardTelemetry(),
      },
    );
    const specs: MessageSpec[] = [];
    for (let seq = 0; seq < PER_USER; seq++)
      for (let user = 0; user < USERS; user++)
        specs.push({ user: 100_000 + user, seq, text: `u${user} #${seq}` });
    const bodies: Buffer[] = [];
    for (let i = 0; i < specs.length; i += PER_BODY)
      bodies.push(batchedWebhookBody(specs.slice(i, i + PER_BODY)));
    const started = Date.now();
    const statuses = new Map<number, number>();
    try {
      // Bodies of one round of messages go out concurrently; rounds in order, so each user's messages
      // reach the webhook in order, as Meta delivers one page's events.
      await inBatches(bodies, 4, async (body) => {
        const res = await webhook(
          postEvent(body, { 'x-hub-signature-256': signatureOf(body, BENCH_APP_SECRET) }),
        );
        statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
      });
      const ingressMs = Date.now() - started;
      const replies: { psid: string; text: string; at: number }[] = [];
      // RSS of this process (webhook + poller + sender) each time another quarter of the replies arrived.
      const rssAt: number[] = [process.memoryUsage().rss / 1024 / 1024];
      let lastProgress = Date.now();
      while (
        replies.length < specs.length &&
        Date.now() - lastProgress < 20_000 &&
        Date.now() - started < 240_000
      ) {
        await new Promise((r) => setTimeout(r, 500));
        const calls = await stack.takeCalls();
        if (calls.length > 0) lastProgress = Date.now();
        for (const c of calls)
          if (c.kind === 'message') replies.push({ psid: c.psid, text: c.text ?? '', at: c.at });
        while (rssAt.length < 5 && replies.length >= (rssAt.length * specs.length) / 4)
          rssAt.push(process.memoryUsage().rss / 1024 / 1024);
      }
      await new Promise((r) => setTimeout(r, 1000));
      for (const c of await stack.takeCalls())
        if (c.kind === 'message') replies.push({ psid: c.psid, text: c.text ?? '', at: c.at });
      const totalMs = Date.now() - started;
      sample();
      const seen = new Set<string>();
      let duplicates = 0;
      let outOfOrder = 0;
      const lastSeq = new Map<string, number>();
      for (const r of [...replies].sort((a, b) => a.at - b.at)) {
        if (seen.has(r.text)) duplicates++;
        seen.add(r.text);
        const seq = Number(/#(\d+)$/.exec(r.text)?.[1] ?? -1);
        if (seq < (lastSeq.get(r.psid) ?? -1)) outOfOrder++;
        lastSeq.set(r.psid, Math.max(seq, lastSeq.get(r.psid) ?? -1));
      }
      const lost = specs.length - seen.size - merged;
      const invocations = stack.invocations.length;
      return {
        tables: [
          {
            title: `Load: ${specs.length.toLocaleString('en-US')} inbound events through the local stack`,
            columns: ['stage', 'value'],
            rows: [
              ['inbound events / bodies', `${specs.length} / ${bodies.length} (${PER_BODY} events each)`],
              ['webhook answers', [...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')],
              [
                'ingress wall time (4 bodies in flight)',
                `${(ingressMs / 1000).toFixed(1)} s (${Math.round((specs.length * 1000) / ingressMs)} events/s)`,
              ],
              [
                'end-to-end wall time (last reply at the fake Graph)',
                `${(totalMs / 1000).toFixed(1)} s (${Math.round((specs.length * 1000) / totalMs)} replies/s)`,
              ],
              ['sender invocations (batch 1, 20 pollers)', invocations],
              [
                'replies delivered / merged into a turn / lost / duplicated / out of order',
                `${seen.size} / ${merged} / ${lost} / ${duplicates} / ${outOfOrder}`,
              ],
              ['peak RSS: webhook + poller + sender process', `${Math.round(peaks.bench)} MiB`],
              [
                '  its RSS after ingress, then at 25/50/75/100 % of replies',
                `${rssAt.map((m) => `${Math.round(m)}`).join(' → ')} MiB`,
              ],
              ['peak RSS: fauxqs process', `${Math.round(peaks.sqs)} MiB`],
              ['peak RSS: fake Graph process', `${Math.round(peaks.graph)} MiB`],
            ],
            notes: [
              'PLAN_TIME_SCALE=0: every planned pause is zero, so this is throughput of the pipeline, not of typing time. All processes on one 2-core machine.',
              'Runs only in `npm run bench` (too slow for CI); the fault and order invariants at small scale are in test/property/reliability-*.test.ts.',
            ],
          },
        ],
        data: {
          events: specs.length,
          ingressMs,
          totalMs,
          invocations,
          delivered: seen.size,
          lost,
          duplicates,
          outOfOrder,
          peakRssMiB: peaks,
        },
      };
    } finally {
      clearInterval(sampler);
      await stack.stop();
    }
  },
};
