/**
 * End to end on one machine: a signed webhook POST → the real webhook handler (behind the local API
 * Gateway) → fauxqs FIFO queue → the local event source mapping → the real sender → the local Graph.
 * The functions get their SQS endpoint from the environment, as in Lambda. Time is scaled down
 * (PLAN_TIME_SCALE) so a conversation takes well under a second; gaps are compared with the plan.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { decodeStep, encodeStep, groupIdOf, type QueuedStep } from '../../lib/queue/codec.ts';
import { type Action, actionKind } from '../../lib/queue/step.ts';
import { graphErrors } from '../../local/graph-fake.ts';
import { signatureOf, webhookBody } from '../../local/meta.ts';
import { type Stack, startStack } from '../../local/stack.ts';
import { queuedStep } from '../support/factories.ts';
import { memoryTelemetry } from '../support/telemetry.ts';
import { until, untilIdle } from '../support/wait.ts';

const TIME_SCALE = 0.1;
/** Sending early is a bug; late is noise (polling, a loaded CI machine), so the upper bound is generous. */
const EARLY_TOLERANCE_MS = 20;
const LATE_TOLERANCE_MS = 1500;

let stack: Stack;
const senderTelemetry = memoryTelemetry();
/** Every step the sender received, and the ones it finished (deleted from the queue), by `sequenceId:index`. */
const planned = new Map<string, QueuedStep>();
const processed = new Set<string>();
const gapErrors: number[] = [];
/** The steps queues (shards) the sender's records came from. */
const shardsUsed = new Set<string>();
const keyOf = (s: Pick<QueuedStep, 'sequenceId' | 'index'>) => `${s.sequenceId}:${s.index}`;

beforeAll(async () => {
  stack = await startStack({
    env: {
      PLAN_TIME_SCALE: String(TIME_SCALE),
      RETRY_BASE_SECONDS: '0.5',
      RETRY_MAX_SECONDS: '1',
      // These tests are about delivery, one message per user at a time: no burst to wait for.
      RESPONDER_QUIET_MS: '0',
    },
    sqsFromProcessEnv: true,
    // Two steps and two responder queues (docs/scale.md): users spread over both, each in order on its own.
    queueShards: 2,
    maxConcurrency: 16,
    webhookOverrides: { telemetry: memoryTelemetry() },
    senderOverrides: { telemetry: senderTelemetry },
    responderOverrides: { telemetry: memoryTelemetry() },
    onBatch: (report) => {
      for (const r of report.records) {
        const d = decodeStep(r.body);
        if (!d.ok) continue;
        planned.set(keyOf(d.step), d.step);
        shardsUsed.add(r.eventSourceARN);
        if (report.deleted.includes(r.messageId)) processed.add(keyOf(d.step));
      }
    },
  });
  // As Lambda does: the SDK inside the functions finds the endpoint, region and credentials in the env.
  for (const [k, v] of Object.entries(stack.sqs.env)) vi.stubEnv(k, v);
});

afterAll(async () => {
  await stack?.stop();
  vi.unstubAllEnvs();
  if (gapErrors.length > 0) {
    const sorted = [...gapErrors].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    console.log(
      `gap error vs plan (ms, measured − planned, n=${sorted.length}): min ${sorted[0]}, median ${at(0.5)}, ` +
        `p90 ${at(0.9)}, max ${sorted[sorted.length - 1]}`,
    );
  }
});

/** The planned steps of a user's sequences, as the sender received them from the queue, in plan order. */
const planOf = (psid: string): QueuedStep[] =>
  [...planned.values()]
    .filter((s) => s.psid === psid)
    .sort(
      (a, b) => a.plannedAt - b.plannedAt || a.sequenceId.localeCompare(b.sequenceId) || a.index - b.index,
    );

/** Steps the sender skipped on purpose (a typing_on already overdue), by `sequenceId:index`. */
const skipped = () =>
  new Set(
    senderTelemetry.logs
      .filter((l) => l.message === 'stale step skipped')
      .map((l) => `${String(l.attributes.sequenceId)}:${String(l.attributes.index)}`),
  );

/** The user's planned steps minus the ones the sender skipped: exactly the Graph calls there must be. */
const expectedOf = (psid: string): QueuedStep[] => {
  const skip = skipped();
  return planOf(psid).filter((s) => !skip.has(keyOf(s)));
};

/**
 * True once the sender has finished every step of the user's `sequences` inbound events: each one's prelude
 * (sequence id = the event id) and what the responder enqueued for it (`<event id>~<attempt>.<n>`).
 */
const doneFor = (psid: string, sequences = 1) => {
  const plan = planOf(psid);
  const ids = new Set(plan.map((s) => s.sequenceId));
  const events = new Set([...ids].map((id) => id.split('~')[0]));
  if (events.size !== sequences) return false;
  if (![...events].every((e) => [...ids].some((id) => id.startsWith(`${e}~`)))) return false;
  return [...ids].every((id) => {
    const count = plan.find((s) => s.sequenceId === id)?.count ?? 0;
    return Array.from({ length: count }, (_, i) => processed.has(`${id}:${i}`)).every(Boolean);
  });
};

const kinds = (psid: string) => stack.graph?.callsFor(psid).map((c) => c.kind) ?? [];

/** The action as Graph records it: a reply's `quote` is the sender's to decide, never a message field. */
const onTheWire = (action: Action): Action => ('message' in action ? { message: action.message } : action);

/** The sender's default SENDER_MIN_PAUSE_RATIO: how far a pause may shrink to absorb earlier lateness. */
const MIN_PAUSE_RATIO = 0.5;

/**
 * Checks the user's successful Graph calls against the plan: same actions, same order, only overdue
 * typing_on steps skipped. Returns, per step after the first of its sequence, how early it was against
 * the two promises the sender keeps (negative = early): never before its planned time (dueAt), and never
 * less than MIN_PAUSE_RATIO of its pause after the previous call's answer. Records each gap's error
 * (actual − planned gap between the two calls' arrivals) for the summary.
 */
const checkAgainstPlan = (psid: string, recordGaps = true): { earliness: number[]; lateness: number[] } => {
  const plan = planOf(psid);
  const expected = expectedOf(psid);
  const calls = stack.graph?.callsFor(psid) ?? [];
  expect(calls.map((c) => c.action)).toEqual(expected.map((s) => onTheWire(s.action)));
  for (const s of plan) if (!expected.includes(s)) expect(actionKind(s.action)).toBe('typing_on');
  const earliness: number[] = [];
  const lateness: number[] = [];
  for (let j = 1; j < expected.length; j++) {
    const prev = expected[j - 1];
    const cur = expected[j];
    const [before, call] = [calls[j - 1], calls[j]];
    if (!prev || !cur || !before || !call || prev.sequenceId !== cur.sequenceId) continue;
    const afterPlan = call.at - cur.dueAt;
    const afterFloor = call.at - before.answeredAt - Math.ceil(cur.delayMs * MIN_PAUSE_RATIO);
    earliness.push(Math.min(afterPlan, afterFloor));
    lateness.push(afterPlan);
    if (recordGaps) gapErrors.push(call.at - before.at - (cur.dueAt - prev.dueAt));
  }
  return { earliness, lateness };
};

describe('end to end: webhook → SQS FIFO → poller → sender → Graph', () => {
  test('sends every planned step as its own Graph call, in order, with the planned pauses', async () => {
    const psid = 'e2e-order';
    expect((await stack.say(psid, { text: 'tell me a joke' })).status).toBe(200);
    await until(() => doneFor(psid));
    const plan = planOf(psid);
    expect(plan.map((s) => actionKind(s.action))).toEqual(
      expect.arrayContaining(['mark_seen', 'typing_on', 'message', 'typing_on', 'message']),
    );
    expect(plan[0]?.action).toEqual({ sender_action: 'mark_seen' });
    const { earliness, lateness } = checkAgainstPlan(psid);
    for (const c of stack.graph?.callsFor(psid) ?? []) expect(c.pageId).toBe(stack.pageId);
    console.log(
      `[${psid}] planned ${plan.map((s) => `${actionKind(s.action)}+${s.delayMs}`).join(' ')}; late vs plan ${lateness.join(', ')} ms`,
    );
    for (const e of earliness) expect(e).toBeGreaterThanOrEqual(-EARLY_TOLERANCE_MS);
    for (const l of lateness) expect(l).toBeLessThanOrEqual(LATE_TOLERANCE_MS);
  });

  test('serves many users at once; one slow Graph user does not delay the others', async () => {
    const slow = 'e2e-slow';
    const others = Array.from({ length: 10 }, (_, i) => `e2e-crowd-${i}`);
    // The slow user's first call hangs until every other conversation is done: a condition, not a clock, so a
    // loaded machine only makes the test slower.
    let release: () => void = () => undefined;
    const othersDone = new Promise<void>((resolve) => (release = resolve));
    stack.graph?.inject({ psid: slow, kind: 'mark_seen' }, { until: othersDone });
    await Promise.all([slow, ...others].map((psid) => stack.say(psid, { text: `hi from ${psid}` })));
    await until(() => others.every((psid) => doneFor(psid)));
    const slowSeen = stack.graph?.calls.find((c) => c.psid === slow && c.kind === 'mark_seen');
    // Every other conversation finished while the slow user's first call was still hanging.
    expect(slowSeen).toBeUndefined();
    release();
    await until(() => doneFor(slow));
    const slowCalls = stack.graph?.callsFor(slow) ?? [];
    const lastOther = Math.max(
      ...others.flatMap((p) => stack.graph?.callsFor(p).map((c) => c.answeredAt) ?? []),
    );
    expect(slowCalls[0]?.answeredAt).toBeGreaterThan(lastOther);
    for (const psid of others) {
      for (const e of checkAgainstPlan(psid).earliness) expect(e).toBeGreaterThanOrEqual(-EARLY_TOLERANCE_MS);
    }
    // The slow user's steps after the hang are late against the plan; only order and content are checked.
    checkAgainstPlan(slow, false);
  });

  test('runs on two queue shards: every function told both, users spread over both steps queues', () => {
    expect(stack.env.QUEUE_URLS?.split(',')).toHaveLength(2);
    expect(stack.env.RESPONDER_QUEUE_URLS?.split(',')).toHaveLength(2);
    expect([...shardsUsed].filter((arn) => arn.endsWith('.fifo')).sort()).toEqual([
      expect.stringMatching(/:ellipsis-steps-s1\.fifo$/),
      expect.stringMatching(/:ellipsis-steps\.fifo$/),
    ]);
  });

  test('a re-delivered webhook event (same mid, even concurrently) produces one reply, not two', async () => {
    const psid = 'e2e-redelivery';
    const mid = 'm_redelivered_1';
    const answers = await Promise.all([
      stack.say(psid, { text: 'hello' }, mid),
      stack.say(psid, { text: 'hello' }, mid),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    await until(() => doneFor(psid));
    expect((await stack.say(psid, { text: 'hello' }, mid)).status).toBe(200);
    await untilIdle(stack.idle); // whatever the third delivery enqueued has been sent by now
    expect(kinds(psid).filter((k) => k === 'message')).toHaveLength(1);
    expect(kinds(psid).filter((k) => k === 'mark_seen')).toHaveLength(1);
  });

  test('transient Graph errors are retried: nothing lost, order kept', async () => {
    const psid = 'e2e-transient';
    stack.graph?.inject({ psid, kind: 'message' }, graphErrors.transient, graphErrors.temporarySendFailure);
    await stack.say(psid, { text: 'hello' });
    await until(() => doneFor(psid));
    const all = stack.graph?.calls.filter((c) => c.psid === psid) ?? [];
    expect(all.filter((c) => c.status !== 200).map((c) => c.kind)).toEqual(['message', 'message']);
    checkAgainstPlan(psid, false); // the retried message waited for its backoff, not its pause
    expect(kinds(psid).filter((k) => k === 'message')).toHaveLength(1);
  });

  test("a permanent error drops the rest of that user's sequence and leaves others alone", async () => {
    const gone = 'e2e-gone';
    const fine = 'e2e-fine';
    stack.graph?.inject({ psid: gone, kind: 'message' }, graphErrors.outsideWindow);
    await Promise.all([
      stack.say(gone, { text: 'tell me a joke' }),
      stack.say(fine, { text: 'tell me a joke' }),
    ]);
    await until(() => doneFor(fine) && doneFor(gone));
    const plan = planOf(gone);
    expect(plan.filter((s) => actionKind(s.action) === 'message')).toHaveLength(2);
    const calls = (stack.graph?.calls ?? []).filter((c) => c.psid === gone);
    const failedAt = calls.findIndex((c) => c.status === 400);
    expect(calls[failedAt]?.kind).toBe('message');
    // After the failure only the clean-up typing_off: the second reply and its typing never went out.
    expect(calls.slice(failedAt + 1).map((c) => `${c.kind}:${c.status}`)).toEqual(['typing_off:200']);
    expect(kinds(gone)).not.toContain('message');
    checkAgainstPlan(fine);
  });

  test('poison messages land in the DLQ and do not block the group', async () => {
    const psid = 'e2e-poison';
    const group = groupIdOf(stack.pageId, psid);
    const send = (body: string, dedup: string) =>
      stack.sqs.client.send(
        new SendMessageCommand({
          QueueUrl: stack.sqs.queueUrl,
          MessageBody: body,
          MessageGroupId: group,
          MessageDeduplicationId: dedup,
        }),
      );
    await send('not json at all', 'poison-1');
    await send(JSON.stringify({ v: 99, hello: 'world' }), 'poison-2');
    const now = Date.now();
    const valid = queuedStep({
      pageId: stack.pageId,
      psid,
      sequenceId: 'poison-followup',
      plannedAt: now,
      dueAt: now,
      action: { message: { text: 'still here' } },
    });
    await send(encodeStep(valid), 'poison-followup:0');
    await until(() => kinds(psid).length === 1);
    expect(stack.graph?.callsFor(psid)[0]?.action).toEqual({ message: { text: 'still here' } });
    const dead: string[] = [];
    for (let i = 0; i < 10 && dead.length < 2; i++) {
      const out = await stack.sqs.client.send(
        new ReceiveMessageCommand({
          QueueUrl: stack.sqs.dlqUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        }),
      );
      for (const m of out.Messages ?? []) {
        dead.push(m.Body ?? '');
        // Deleting releases the DLQ's FIFO group so the next copy can be received.
        await stack.sqs.client.send(
          new DeleteMessageCommand({ QueueUrl: stack.sqs.dlqUrl, ReceiptHandle: m.ReceiptHandle }),
        );
      }
    }
    expect(dead.sort()).toEqual([JSON.stringify({ v: 99, hello: 'world' }), 'not json at all'].sort());
  });

  test('rejects a webhook POST with a bad signature and sends nothing', async () => {
    const psid = 'e2e-forged';
    const body = webhookBody({ pageId: stack.pageId, psid, timestamp: Date.now(), text: 'hello' });
    const res = await fetch(stack.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signatureOf(body, 'not-the-secret'),
      },
      body,
    });
    expect([401, 403]).toContain(res.status);
    await untilIdle(stack.idle); // anything it had enqueued would have reached Graph by now
    expect(stack.graph?.calls.filter((c) => c.psid === psid)).toEqual([]);
  });

  test("answers Meta's GET verification handshake through the local API Gateway", async () => {
    const ok = await fetch(
      `${stack.webhookUrl}?hub.mode=subscribe&hub.verify_token=${stack.verifyToken}&hub.challenge=1158201444`,
    );
    expect([ok.status, await ok.text()]).toEqual([200, '1158201444']);
    const bad = await fetch(`${stack.webhookUrl}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1`);
    expect(bad.status).toBe(403);
  });
});
