/**
 * What the webhook does when a body says a person or another app holds a conversation (lib/meta/takeover.ts):
 * the user's record (lib/platform/conversation-state.ts) is written before the 200, so every queued step of
 * that user is dropped by the sender and a responder turn in progress stops (it watches the record); what
 * the person wrote goes to the responder queue as context, in the user's FIFO group, never to be answered.
 * A record that cannot be written makes the POST fail (500): Meta delivers it again, and every write here is
 * idempotent (a hold only lengthens the silence), whereas a lost takeover would let the bot talk over a person.
 */
import { hashedEventId } from '../meta/fields.ts';
import { type TakeoverSignal, takeoverSignals } from '../meta/takeover.ts';
import { type ConversationState, UNTIL_RETURNED } from '../platform/conversation-state.ts';
import { eventKey, type Ledger } from '../platform/ledger.ts';
import { type Telemetry, userLabel } from '../platform/telemetry.ts';
import { groupIdOf } from '../queue/codec.ts';
import { INBOUND_BODY_VERSION, type QueuedInbound } from '../queue/inbound-codec.ts';

export type WebhookTakeover = {
  /** META_APP_ID; undefined: every echo is a person. */
  appId: string | undefined;
  /** HUMAN_TAKEOVER_PAUSE_SECONDS in ms. */
  pauseMs: number;
  state: ConversationState;
};

type TakeoverDeps = {
  takeover: WebhookTakeover;
  /** The answered-events record: a re-delivered echo is not remembered twice. */
  ledger: Ledger;
  enqueueInbound: (inbound: QueuedInbound) => Promise<unknown>;
  telemetry: Telemetry;
  accounts?: ReadonlySet<string>;
};

/** The signal's write: a person's pause from now (or from the echo, if later), a routing hold, a release. */
const applySignal = async (signal: TakeoverSignal, now: number, deps: TakeoverDeps): Promise<void> => {
  const { state, pauseMs } = deps.takeover;
  const group = groupIdOf(signal.pageId, signal.psid);
  if (signal.kind === 'routing_returned') return state.release(group, now);
  const at = Math.max(now, signal.at);
  const through = signal.kind === 'person' ? at + pauseMs : UNTIL_RETURNED;
  await state.hold(group, { through, reason: signal.kind === 'person' ? 'person' : 'routing', at });
};

/** What the person wrote, as the responder queue carries it (author: person, never answered). */
const personMessage = (signal: TakeoverSignal, receivedAt: number): QueuedInbound | undefined => {
  if (signal.kind !== 'person' || signal.text === undefined) return undefined;
  const { channel, pageId, psid, at, text } = signal;
  const eventId = `echo:${signal.mid ?? hashedEventId([pageId, psid, at, text])}`;
  const event = {
    channel,
    kind: 'message' as const,
    pageId,
    psid,
    timestamp: at,
    eventId,
    text,
    attachments: [],
  };
  return { v: INBOUND_BODY_VERSION, event, receivedAt, author: 'person' };
};

/** The person's words to the responder queue, once per echo (a Meta re-delivery finds it recorded). */
const forwardPersonMessage = async (
  context: QueuedInbound | undefined,
  deps: TakeoverDeps,
): Promise<void> => {
  if (context === undefined) return;
  const key = eventKey(context.event.pageId, context.event.eventId);
  if (await deps.ledger.has(key).catch(() => false)) {
    deps.telemetry.metric('DuplicateEventsDropped', 1);
    return;
  }
  await deps.enqueueInbound(context);
  await deps.ledger.record(key).catch(() => undefined);
};

/** Applies a body's takeover signals; the number that failed (then the POST answers 500). */
export const applyTakeovers = async (
  json: unknown,
  receivedAt: number,
  deps: TakeoverDeps,
): Promise<number> => {
  const signals = takeoverSignals(json, { appId: deps.takeover.appId, receivedAt }).filter(
    (s) => deps.accounts === undefined || deps.accounts.has(s.pageId),
  );
  let failed = 0;
  for (const signal of signals) {
    const who = { user: userLabel(signal.psid), kind: signal.kind, channel: signal.channel };
    try {
      await applySignal(signal, receivedAt, deps);
      await forwardPersonMessage(personMessage(signal, receivedAt), deps);
      deps.telemetry.metric('Takeovers', 1, 'Count', { kind: signal.kind, channel: signal.channel });
      deps.telemetry.log.info('conversation holder changed', who);
    } catch (error) {
      failed += 1;
      deps.telemetry.log.error('takeover not recorded; Meta will deliver it again', { ...who, error });
    }
  }
  return failed;
};

/**
 * Notes when each user last wrote (one write per user of the body, beside the enqueue): a reply that answers
 * an older message then quotes it (lib/sender/user-hold.ts quotedOrPlain). Best effort: unwritten, the
 * reply goes out unquoted, as it would have before.
 */
export const noteUsersWrote = async (
  events: readonly { pageId: string; psid: string }[],
  receivedAt: number,
  deps: { takeover: WebhookTakeover; telemetry: Telemetry },
): Promise<void> => {
  const groups = new Set(events.map((e) => groupIdOf(e.pageId, e.psid)));
  await Promise.all(
    [...groups].map((group) =>
      deps.takeover.state.userWrote(group, receivedAt).catch((error: unknown) => {
        deps.telemetry.metric('LedgerWriteFailed', 1);
        deps.telemetry.log.warn('when the user last wrote not recorded; a later reply will not quote', {
          error,
        });
      }),
    ),
  );
};
