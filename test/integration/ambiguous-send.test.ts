/**
 * Sends whose outcome is unknown, end to end: the local Graph fake answers after the sender's
 * GRAPH_TIMEOUT_MS, so the request reached "Meta" (the fake records it, answered 200) but the client gave
 * up. A message is then not retried (a retry could show the reply twice) and is counted; a typing
 * indicator is retried freely.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { decodeStep } from '../../lib/queue/codec.ts';
import type { BatchReport } from '../../local/esm.ts';
import { type Stack, startStack } from '../../local/stack.ts';
import { memoryTelemetry, metricTotal } from '../support/telemetry.ts';

const TIMEOUT_MS = 300;
let stack: Stack;
const senderTelemetry = memoryTelemetry();
/** Per user, per sequence (a turn may enqueue several): its step count and the steps the sender finished. */
const progress = new Map<string, Map<string, { count: number; deleted: Set<number> }>>();

/** Counts the steps the ESM deleted (= the sender finished), per user and sequence. */
const trackProgress = (report: BatchReport): void => {
  const steps = report.records.flatMap((r) => {
    const d = decodeStep(r.body);
    return d.ok ? [{ step: d.step, deleted: report.deleted.includes(r.messageId) }] : [];
  });
  for (const { step, deleted } of steps) {
    const sequences = progress.get(step.psid) ?? new Map();
    const sequence = sequences.get(step.sequenceId) ?? { count: step.count, deleted: new Set<number>() };
    if (deleted) sequence.deleted.add(step.index);
    sequences.set(step.sequenceId, sequence);
    progress.set(step.psid, sequences);
  }
};

beforeAll(async () => {
  stack = await startStack({
    env: {
      PLAN_TIME_SCALE: '0.1',
      GRAPH_TIMEOUT_MS: String(TIMEOUT_MS),
      RETRY_BASE_SECONDS: '0.5',
      RETRY_MAX_SECONDS: '1',
      RESPONDER_QUIET_MS: '0',
    },
    sqsFromProcessEnv: true,
    maxConcurrency: 8,
    webhookOverrides: { telemetry: memoryTelemetry() },
    senderOverrides: { telemetry: senderTelemetry },
    responderOverrides: { telemetry: memoryTelemetry() },
    onBatch: trackProgress,
  });
  for (const [k, v] of Object.entries(stack.sqs.env)) vi.stubEnv(k, v);
});

afterAll(async () => {
  await stack?.stop();
  vi.unstubAllEnvs();
});

/** Every sequence seen for the user is finished, and a message has gone out. */
const doneFor = (psid: string) => {
  const sequences = [...(progress.get(psid)?.values() ?? [])];
  const finished = sequences.length > 0 && sequences.every((q) => q.deleted.size === q.count);
  return finished && callsOf(psid, 'message').length > 0;
};

const until = async (condition: () => boolean, limitMs = 20_000) => {
  const end = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

const callsOf = (psid: string, kind: string) =>
  (stack.graph?.calls ?? []).filter((c) => c.psid === psid && c.kind === kind);

describe('a Graph answer that comes after the client timed out', () => {
  test('a message is sent once: not retried, counted as an unknown outcome', async () => {
    const psid = 'ambiguous-message';
    stack.graph?.inject({ psid, kind: 'message' }, { delayMs: 3 * TIMEOUT_MS });
    await stack.say(psid, { text: 'hello' });
    await until(() => doneFor(psid));
    // Longer than any retry backoff (RETRY_MAX_SECONDS = 1): a retry would have shown up by now.
    await new Promise((r) => setTimeout(r, 2500));
    expect(callsOf(psid, 'message')).toHaveLength(1);
    expect(callsOf(psid, 'message')[0]?.status).toBe(200);
    expect(metricTotal(senderTelemetry.metrics, 'StepsOutcomeUnknown', { action: 'message' })).toBe(1);
    const warning = senderTelemetry.logs.find((l) => l.message.startsWith('Graph gave no answer'));
    expect(warning?.attributes).toMatchObject({ action: 'message', status: 0, reason: 'timeout' });
  });

  test('a typing indicator is retried freely: repeating it shows the user nothing new', async () => {
    const psid = 'ambiguous-typing';
    stack.graph?.inject({ psid, kind: 'typing_on' }, { delayMs: 3 * TIMEOUT_MS });
    await stack.say(psid, { text: 'hello' });
    await until(() => doneFor(psid));
    expect(callsOf(psid, 'typing_on').length).toBeGreaterThanOrEqual(2);
    expect(callsOf(psid, 'message')).toHaveLength(1);
    expect(metricTotal(senderTelemetry.metrics, 'StepsOutcomeUnknown', { action: 'typing_on' })).toBe(0);
  });
});
