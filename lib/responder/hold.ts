/**
 * The responder's side of a user hold (lib/platform/conversation-state.ts, docs/takeover.md): a turn's
 * messages written while a person (another app, the operator) held the chat are never answered, then or
 * later — they and the person's own words go to the responder's memory as context; a turn in progress
 * stops the moment a hold covers it (its signal aborts, nothing more of it is enqueued, and the sender drops
 * what already was); and the first bot message of a conversation, after a lapse or after a person handed
 * the chat back, is preceded by the disclosure (Meta, Send Messages: where law requires it).
 */
import type { ObservedMessage, Responder, ResponderOutput } from '../bots/responder.ts';
import { type ConversationState, isWithheld, type UserRecord } from '../platform/conversation-state.ts';
import { errorText } from '../platform/errors.ts';
import { type Telemetry, userLabel } from '../platform/telemetry.ts';
import type { QueuedInbound } from '../queue/inbound-codec.ts';
import type { Reply } from '../queue/reply.ts';

export type TurnHold = {
  state: ConversationState;
  /** BOT_DISCLOSURE_TEXT and BOT_DISCLOSURE_AFTER_SECONDS (ms); undefined: no disclosure. */
  disclosure?: { text: string; afterMs: number };
  /** How often a running turn re-reads the record (ms). */
  pollMs: number;
};

/** The turn's answerable messages (the user's, after any hold) and the rest, kept as context. */
export const splitTurn = (inbounds: readonly QueuedInbound[], record: UserRecord) => {
  const observed = (i: QueuedInbound) => i.author === 'person' || isWithheld(record, i.receivedAt);
  return { answer: inbounds.filter((i) => !observed(i)), observed: inbounds.filter(observed) };
};

const observedMessages = (inbounds: readonly QueuedInbound[]): ObservedMessage[] =>
  inbounds.flatMap(({ event, author, receivedAt }) =>
    event.text === undefined ? [] : [{ author: author ?? 'user', text: event.text, at: receivedAt }],
  );

/** Tells the responder's memory what was said meanwhile; best effort, like the memory itself. */
export const observeHeld = async (
  responder: Responder,
  inbounds: readonly QueuedInbound[],
  telemetry: Telemetry,
): Promise<void> => {
  const head = inbounds[0]?.event;
  const messages = observedMessages(inbounds);
  if (head === undefined || messages.length === 0 || responder.observe === undefined) return;
  try {
    await responder.observe({ pageId: head.pageId, psid: head.psid }, messages);
  } catch (error) {
    telemetry.log.warn('held messages not remembered', {
      user: userLabel(head.psid),
      error: errorText(error),
    });
  }
};

async function* streamAfter(first: Reply, stream: AsyncIterable<Reply>): AsyncIterable<Reply> {
  let said = false;
  for await (const reply of stream) {
    if (!said) yield first;
    said = true;
    yield reply;
  }
}

/** The responder with the disclosure as its own first bubble — only when it says anything at all. */
export const disclosing = (responder: Responder, text: string): Responder => {
  const disclosure: Reply = { message: { text } };
  return async (event, turn): Promise<ResponderOutput> => {
    const output = await responder(event, turn);
    if (Symbol.asyncIterator in output) return streamAfter(disclosure, output as AsyncIterable<Reply>);
    const list = output as readonly Reply[];
    return list.length === 0 ? list : [disclosure, ...list];
  };
};

/**
 * Re-reads the record every pollMs while the turn runs; `signal` aborts once a hold covers `since` (the
 * turn's newest message). An unreadable record is skipped: the sender still reads it before each step.
 */
export const watchHold = (
  hold: TurnHold,
  group: string,
  since: number,
  sleep: (ms: number, signal: AbortSignal) => Promise<void>,
) => {
  const held = new AbortController();
  const stopped = new AbortController();
  const poll = async () => {
    while (!stopped.signal.aborted) {
      await sleep(hold.pollMs, stopped.signal);
      if (stopped.signal.aborted) return;
      const record = await hold.state.read(group).catch((): UserRecord => ({}));
      if (isWithheld(record, since)) return held.abort();
    }
  };
  void poll();
  return { signal: held.signal, stop: () => stopped.abort() };
};

/** The responder under a hold: its signal also aborts when the hold comes (it should stop thinking). */
export const abortableBy = (responder: Responder, held: AbortSignal): Responder => {
  const wrapped: Responder = (event, turn) =>
    responder(event, { ...turn, signal: AbortSignal.any([turn.signal, held]) });
  if (responder.observe) wrapped.observe = responder.observe;
  return wrapped;
};
