/**
 * A decoded webhook body → normalised InboundEvents, by the channel parser its `object` names
 * (lib/meta/). Never throws, whatever the JSON: a bad item is skipped and counted with a reason,
 * one bad item never fails the others.
 */
import { isRecord } from '../platform/records.ts';
import type { InboundEvent } from '../queue/inbound.ts';
import type { ChannelParser, EntrySink, ItemResult } from './inbound-channel.ts';
import { instagram } from './instagram/inbound.ts';
import { messenger } from './messenger/inbound.ts';
import { whatsapp } from './whatsapp/inbound.ts';

type ParsedWebhook = { events: InboundEvent[]; ignored: Record<string, number> };

/** The channels this deployment reads, by the body's `object`: adding a channel is adding a row. */
const CHANNELS: readonly ChannelParser[] = [messenger, instagram, whatsapp];

const channelOf = (json: Record<string, unknown>): ChannelParser | undefined =>
  CHANNELS.find((c) => c.object === json.object);

/** Why a decoded body is not a webhook of any channel we read (→ HTTP 400), or undefined when it is one. */
export const envelopeProblem = (json: unknown): string | undefined => {
  if (!isRecord(json)) return 'body must be a JSON object';
  if (channelOf(json) === undefined) {
    return `field "object" must be ${CHANNELS.map((c) => `"${c.object}"`).join(' or ')}`;
  }
  if (json.entry !== undefined && !Array.isArray(json.entry)) return 'field "entry" must be an array';
  return undefined;
};

/** Collects item results: one event per eventId (Meta may batch the same mid twice), skips counted by reason. */
const collector = (): EntrySink & ParsedWebhook => {
  const events: InboundEvent[] = [];
  const ignored: Record<string, number> = {};
  const seen = new Set<string>();
  const skip = (reason: string, n = 1) => {
    if (n > 0) ignored[reason] = (ignored[reason] ?? 0) + n;
  };
  const item = (parse: () => ItemResult) => {
    let result: ItemResult;
    try {
      result = parse();
    } catch {
      // Defensive: the schemas do not throw, but one item must never sink the whole body.
      result = { ignored: 'malformed_item' };
    }
    if ('ignored' in result) skip(result.ignored);
    else if (seen.has(result.event.eventId)) skip('duplicate');
    else {
      seen.add(result.event.eventId);
      events.push(result.event);
    }
  };
  return { events, ignored, skip, item };
};

/**
 * All answerable events of a webhook body, in body order, plus the count of skipped items per reason.
 * `receivedAt` is only the timestamp of events that carry none.
 */
export const parseWebhookBody = (json: unknown, receivedAt = 0): ParsedWebhook => {
  const sink = collector();
  const channel = isRecord(json) && envelopeProblem(json) === undefined ? channelOf(json) : undefined;
  if (channel === undefined || !isRecord(json)) {
    sink.skip('not_a_page_webhook');
    return { events: sink.events, ignored: sink.ignored };
  }
  for (const entry of Array.isArray(json.entry) ? json.entry : []) {
    if (isRecord(entry)) channel.parseEntry(entry, receivedAt, sink);
    else sink.skip('malformed_entry');
  }
  return { events: sink.events, ignored: sink.ignored };
};
