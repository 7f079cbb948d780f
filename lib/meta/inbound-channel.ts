/**
 * What a channel parser is: one Meta product's webhook `entry` → InboundEvents. lib/meta/inbound.ts picks
 * the parser by the body's `object`; adding a channel is adding a module that exports one of these.
 */
import type { InboundEvent } from '../queue/inbound.ts';

/** One item of an entry: an answerable event, or the closed-set reason it is not answered (a metric dimension). */
export type ItemResult = { event: InboundEvent } | { ignored: string };

/** Where an entry parser reports: skipped items by reason, and each item's result (deduplicated by the caller). */
export type EntrySink = {
  skip: (reason: string, count?: number) => void;
  /** Runs one item's parser; a throw counts as `malformed_item`, so one item never sinks the body. */
  item: (parse: () => ItemResult) => void;
};

export type ChannelParser = {
  /** The webhook body's `object` this parser reads (Meta, Webhooks "Event notifications"). */
  object: string;
  parseEntry: (entry: Record<string, unknown>, receivedAt: number, sink: EntrySink) => void;
};
