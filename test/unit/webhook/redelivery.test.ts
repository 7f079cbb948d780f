/**
 * A WhatsApp message re-delivered by Meta gets no second reply. Meta retries a webhook for hours, and now
 * and then re-sends one it already had a 200 for (Meta, Webhooks "Event notifications"); past SQS's 5-minute
 * dedup window only the answered-events ledger stops the second reply, and its key is the event id: the
 * wamid, the same in every delivery of the message (Meta, WhatsApp Cloud API → Webhooks → messages: `id`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { handleWebhook } from '../../../lib/webhook/webhook.ts';
import { hubSignature } from '../../support/signing.ts';
import { metricTotal } from '../../support/telemetry.ts';
import { seenPrelude, webhookHarness } from '../../support/webhook-harness.ts';

const SECRET = 'redelivery-test-app-secret';
const T0 = 1_700_000_000_000;
/** A real Cloud API text webhook (test/fixtures/whatsapp/SOURCES.md). */
const GIST = readFileSync(join(import.meta.dirname, '../../fixtures/whatsapp/webhooks/text-gist.json'));
const GIST_WAMID = 'wamid.MBUGAlTGH0svWga-dJIh43L5Pe4W';

const webhook = () => {
  let now = T0;
  const { deps, enqueued, inbounds, telemetry } = webhookHarness(
    { appSecret: SECRET, now: () => now },
    { planPrelude: seenPrelude(600) },
  );
  /** Meta POSTs `body` at T0 + `afterMs`. */
  const deliver = async (body: Uint8Array, afterMs: number) => {
    now = T0 + afterMs;
    const headers = { 'x-hub-signature-256': hubSignature(body, SECRET) };
    return handleWebhook({ method: 'POST', headers, query: {}, body }, deps);
  };
  return { deliver, enqueued, inbounds, telemetry };
};

/** The fixture with its timestamp dropped: the event time then falls back to when the webhook got it. */
const withoutTimestamp = (): Uint8Array => {
  const json = JSON.parse(GIST.toString('utf8'));
  delete json.entry[0].changes[0].value.messages[0].timestamp;
  return new TextEncoder().encode(JSON.stringify(json));
};

describe('webhook: a WhatsApp message delivered again', () => {
  it('is known by its wamid: the event id, the prelude sequence and the ledger key', async () => {
    const w = webhook();
    expect((await w.deliver(GIST, 0)).statusCode).toBe(200);
    expect(w.inbounds.map((i) => [i.event.channel, i.event.eventId, i.event.mid])).toEqual([
      ['whatsapp', GIST_WAMID, GIST_WAMID],
    ]);
    expect(w.enqueued.map((s) => s.sequenceId)).toEqual([GIST_WAMID]);
  });

  it.each([
    ['a minute later (inside SQS dedup)', 60_000],
    ['ten minutes later (the ledger alone)', 600_000],
    ['a day later (Meta retries for up to 36 hours)', 86_000_000],
  ])('gets no second prelude or turn %s', async (_when, afterMs) => {
    const w = webhook();
    await w.deliver(GIST, 0);
    const again = await w.deliver(GIST, afterMs);
    expect(again.statusCode).toBe(200);
    expect(w.inbounds).toHaveLength(1);
    expect(w.enqueued).toHaveLength(1);
    expect(metricTotal(w.telemetry.metrics, 'DuplicateEventsDropped')).toBe(1);
  });

  it('gets no second reply even when its timestamp is missing (the id never depends on arrival time)', async () => {
    const w = webhook();
    const body = withoutTimestamp();
    await w.deliver(body, 0);
    await w.deliver(body, 600_000);
    expect(w.inbounds.map((i) => i.event.eventId)).toEqual([GIST_WAMID]);
    expect(metricTotal(w.telemetry.metrics, 'DuplicateEventsDropped')).toBe(1);
  });
});
