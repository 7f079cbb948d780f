import { describe, expect, it } from 'vitest';
import { memoryLedger } from '../../../lib/platform/ledger.ts';
import type { QueuedInbound } from '../../../lib/queue/inbound-codec.ts';
import type { SequenceToEnqueue } from '../../../lib/queue/producer.ts';
import { handleWebhook, type WebhookDeps } from '../../../lib/webhook/webhook.ts';
import { hubSignature } from '../../support/signing.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';

const SECRET = 'accounts-test-app-secret';
const NOW = 1_700_000_000_000;

const harness = (accounts: ReadonlySet<string> | undefined) => {
  const enqueued: SequenceToEnqueue[] = [];
  const inbounds: QueuedInbound[] = [];
  const telemetry = memoryTelemetry();
  const deps: WebhookDeps = {
    appSecret: SECRET,
    verifyToken: 'v',
    planPrelude: () => ({
      steps: [{ action: { sender_action: 'mark_seen' }, delayMs: 0 }],
      typingAfterMs: 0,
    }),
    enqueue: async (seq) => {
      enqueued.push(seq);
    },
    enqueueInbound: async (inbound) => {
      inbounds.push(inbound);
    },
    ledger: memoryLedger({ now: () => NOW }),
    now: () => NOW,
    telemetry,
    maxBodyBytes: 65_536,
    ...(accounts && { accounts }),
  };
  return { deps, enqueued, inbounds, telemetry };
};

/** One Messenger text to each of the Pages. */
const bodyFor = (...pages: string[]) =>
  JSON.stringify({
    object: 'page',
    entry: pages.map((page, i) => ({
      id: page,
      time: NOW,
      messaging: [
        {
          sender: { id: `user${i}` },
          recipient: { id: page },
          timestamp: NOW,
          message: { mid: `m_${i}`, text: 'hi' },
        },
      ],
    })),
  });
const post = (raw: string) => {
  const body = new TextEncoder().encode(raw);
  return { method: 'POST', headers: { 'x-hub-signature-256': hubSignature(body, SECRET) }, query: {}, body };
};

describe('webhook: many accounts', () => {
  it('answers the served accounts and acknowledges, counts and logs the others without answering them', async () => {
    const h = harness(new Set(['PAGE_A', 'PAGE_B']));
    const res = await handleWebhook(post(bodyFor('PAGE_A', 'PAGE_X', 'PAGE_B')), h.deps);
    expect(res.statusCode).toBe(200);
    expect(h.inbounds.map((i) => i.event.pageId)).toEqual(['PAGE_A', 'PAGE_B']);
    expect(h.enqueued.map((s) => s.pageId)).toEqual(['PAGE_A', 'PAGE_B']);
    expect(metricTotal(h.telemetry.metrics, 'EventsIgnored', { reason: 'unknown_account' })).toBe(1);
    expect(h.telemetry.logs.some((l) => l.level === 'warn' && l.attributes?.account === 'PAGE_X')).toBe(true);
  });

  it('answers every account when none are configured (one-token deployments, as before)', async () => {
    const h = harness(undefined);
    await handleWebhook(post(bodyFor('PAGE_A', 'PAGE_X')), h.deps);
    expect(h.inbounds.map((i) => i.event.pageId)).toEqual(['PAGE_A', 'PAGE_X']);
  });
});
