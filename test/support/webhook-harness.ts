/**
 * The webhook core with recording producers (test/unit/webhook/): what it enqueued on each queue and what it
 * emitted, for a given app secret, clock and prelude. One harness, so a field added to WebhookDeps gets its
 * test default here once.
 */
import { memoryLedger } from '../../lib/platform/ledger.ts';
import type { InboundEvent } from '../../lib/queue/inbound.ts';
import type { QueuedInbound } from '../../lib/queue/inbound-codec.ts';
import type { SequenceToEnqueue } from '../../lib/queue/producer.ts';
import type { WebhookDeps } from '../../lib/webhook/webhook.ts';
import { memoryTelemetry } from './telemetry.ts';

export type WebhookHarness = {
  deps: WebhookDeps;
  enqueued: SequenceToEnqueue[];
  /** What reached the responder queue, as events. */
  seen: InboundEvent[];
  inbounds: QueuedInbound[];
  telemetry: ReturnType<typeof memoryTelemetry>;
};

/** A mark_seen prelude with typing after `typingAfterMs`: the webhook's own planner is not under test. */
export const seenPrelude =
  (typingAfterMs: number): WebhookDeps['planPrelude'] =>
  () => ({
    steps: [{ action: { sender_action: 'mark_seen' }, delayMs: 0 }],
    typingAfterMs,
  });

export const webhookHarness = (
  base: { appSecret: string; now: () => number },
  over: Partial<WebhookDeps> = {},
): WebhookHarness => {
  const enqueued: SequenceToEnqueue[] = [];
  const seen: InboundEvent[] = [];
  const inbounds: QueuedInbound[] = [];
  const telemetry = memoryTelemetry();
  const deps: WebhookDeps = {
    appSecret: base.appSecret,
    verifyToken: 'v',
    planPrelude: seenPrelude(0),
    enqueue: async (seq) => {
      enqueued.push(seq);
    },
    enqueueInbound: async (inbound) => {
      inbounds.push(inbound);
      seen.push(inbound.event);
    },
    ledger: memoryLedger({ now: base.now }),
    now: base.now,
    telemetry,
    maxBodyBytes: 65_536,
    ...over,
  };
  return { deps, enqueued, seen, inbounds, telemetry };
};
