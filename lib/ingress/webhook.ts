/**
 * The webhook core: Meta's GET verification handshake and signed POST events, as a pure function of a plain
 * request and injected dependencies (the Lambda adapter is functions/webhook.ts).
 *
 * POST order matters: size limit (before hashing), signature over the raw bytes (before parsing), JSON,
 * envelope, then events. Every reject is a 4xx with a reason and enqueues nothing. Meta re-delivers a POST
 * that is not answered 200 (Meta, Webhooks "Event notifications"), so 500 is returned only when an enqueue
 * failed. A re-delivery gets no second reply: an event whose sequence was enqueued is recorded in the ledger
 * and skipped when it comes again, and deterministic dedup ids (lib/queue/producer.ts) cover the first 5 minutes.
 */

import { describeIssues } from '../platform/issues.ts';
import { eventKey, type Ledger } from '../platform/ledger.ts';
import { type Telemetry, userLabel } from '../platform/telemetry.ts';
import { groupIdOf } from '../queue/codec.ts';
import type { InboundEvent } from '../queue/inbound.ts';
import type { SequenceToEnqueue } from '../queue/producer.ts';
import type { Step } from '../queue/step.ts';
import type { PlanInput } from '../reply/plan.ts';
import { type Reply, replySchema } from '../reply/reply.ts';
import type { Responder } from '../reply/responder.ts';
import { parseJsonBody } from './body.ts';
import { envelopeProblem, parseWebhookBody } from './events.ts';
import { safeEqual, verifySignature } from './signature.ts';

export type WebhookRequest = {
  method: string;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  body: Uint8Array;
};

export type WebhookResponse = { statusCode: number; headers: Record<string, string>; body: string };

export type WebhookDeps = {
  appSecret: string;
  verifyToken: string;
  responder: Responder;
  plan: (input: PlanInput) => Step[];
  enqueue: (seq: SequenceToEnqueue) => Promise<unknown>;
  /** Events already answered (key: lib/platform/ledger.ts eventKey), remembered past SQS's 5-minute dedup window. */
  ledger: Ledger;
  now: () => number;
  telemetry: Telemetry;
  maxBodyBytes: number;
};

/** Meta's sample code answers this; any 200 body works. */
export const EVENT_RECEIVED = 'EVENT_RECEIVED';

const text = (statusCode: number, body: string, extra: Record<string, string> = {}): WebhookResponse => ({
  statusCode,
  headers: { 'content-type': 'text/plain; charset=utf-8', ...extra },
  body,
});

export const handleWebhook = async (request: WebhookRequest, deps: WebhookDeps): Promise<WebhookResponse> => {
  const method = request.method.toUpperCase();
  if (method === 'GET') return verifySubscription(request, deps);
  if (method === 'POST') return receiveEvents(request, deps);
  return text(405, 'method not allowed', { allow: 'GET, POST' });
};

/**
 * Meta, Webhooks "Verification requests": GET with hub.mode=subscribe, hub.verify_token and hub.challenge;
 * answer the challenge only when the token matches the one configured in the App Dashboard.
 */
const verifySubscription = (request: WebhookRequest, deps: WebhookDeps): WebhookResponse => {
  const mode = request.query['hub.mode'];
  const token = request.query['hub.verify_token'];
  const challenge = request.query['hub.challenge'];
  if (mode !== 'subscribe' || token === undefined || !safeEqual(token, deps.verifyToken)) {
    deps.telemetry.metric('VerificationRejected', 1);
    deps.telemetry.log.warn('webhook verification rejected', { modeIsSubscribe: mode === 'subscribe' });
    return text(403, 'verification failed');
  }
  if (challenge === undefined || challenge === '') return text(400, 'hub.challenge is required');
  return text(200, challenge);
};

const reject = (
  deps: WebhookDeps,
  statusCode: number,
  reason: string,
  metricReason: string,
): WebhookResponse => {
  deps.telemetry.metric('WebhookRejected', 1, 'Count', { reason: metricReason });
  deps.telemetry.log.warn('webhook request rejected', { statusCode, reason });
  return text(statusCode, reason);
};

const receiveEvents = async (request: WebhookRequest, deps: WebhookDeps): Promise<WebhookResponse> => {
  const { telemetry } = deps;
  if (request.body.byteLength > deps.maxBodyBytes) {
    return reject(deps, 413, `body larger than ${deps.maxBodyBytes} bytes`, 'too_large');
  }

  const signature = request.headers['x-hub-signature-256'];
  if (signature === undefined || signature.trim() === '') {
    const sha1Only = request.headers['x-hub-signature'] !== undefined;
    telemetry.metric('SignatureFailures', 1, 'Count', { reason: sha1Only ? 'sha1_only' : 'missing' });
    return reject(
      deps,
      401,
      sha1Only
        ? 'X-Hub-Signature (sha1) is not accepted; X-Hub-Signature-256 is required'
        : 'missing X-Hub-Signature-256 header',
      'signature',
    );
  }
  if (!verifySignature(request.body, signature, deps.appSecret)) {
    telemetry.metric('SignatureFailures', 1, 'Count', { reason: 'mismatch' });
    return reject(deps, 403, 'X-Hub-Signature-256 does not match the body', 'signature');
  }

  const decoded = parseJsonBody(request.body);
  if (!decoded.ok) return reject(deps, 400, decoded.reason, 'malformed');
  const problem = envelopeProblem(decoded.json);
  if (problem !== undefined) return reject(deps, 400, problem, 'not_page');

  const plannedAt = deps.now();
  const { events, ignored } = parseWebhookBody(decoded.json, plannedAt);
  for (const [reason, count] of Object.entries(ignored)) {
    telemetry.metric('EventsIgnored', count, 'Count', { reason });
  }
  for (const event of events) telemetry.metric('EventsReceived', 1, 'Count', { kind: event.kind });

  const planned = await Promise.all(events.map((event) => planEvent(event, plannedAt, deps)));
  const answerable = planned.filter((s): s is SequenceToEnqueue => s !== undefined);
  const sequences = await dropAnswered(answerable, deps);

  const failures = await enqueueAll(sequences, deps);
  telemetry.metric('SequencesEnqueued', sequences.length - failures);
  if (failures > 0) {
    telemetry.metric('EnqueueFailures', failures);
    return text(500, 'could not enqueue replies; retry');
  }
  telemetry.log.info('webhook processed', {
    events: events.length,
    sequences: sequences.length,
    duplicates: answerable.length - sequences.length,
    ignored,
  });
  return text(200, EVENT_RECEIVED);
};

/** Responder → validated replies → planned steps; any failure is this event's alone (logged, no reply). */
const planEvent = async (
  event: InboundEvent,
  plannedAt: number,
  deps: WebhookDeps,
): Promise<SequenceToEnqueue | undefined> => {
  const { telemetry } = deps;
  const who = { user: userLabel(event.psid), kind: event.kind, eventId: event.eventId };
  let raw: readonly unknown[];
  try {
    // Frozen: a responder cannot change the event the planner and the logs see next.
    raw = await deps.responder(Object.freeze({ ...event }));
  } catch (error) {
    telemetry.metric('ResponderErrors', 1);
    telemetry.log.error('responder failed; event gets no reply', { ...who, error });
    return undefined;
  }
  const replies: Reply[] = [];
  for (const candidate of Array.isArray(raw) ? raw : []) {
    const parsed = replySchema.safeParse(candidate);
    if (parsed.success) replies.push(parsed.data);
    else {
      telemetry.metric('InvalidReplies', 1);
      telemetry.log.warn('responder returned an invalid reply; dropped', {
        ...who,
        issues: describeIssues(parsed.error.issues),
      });
    }
  }
  if (replies.length === 0) return undefined;
  let steps: Step[];
  try {
    steps = deps.plan({ seed: event.eventId, inboundText: event.text, replies });
  } catch (error) {
    telemetry.metric('PlanErrors', 1);
    telemetry.log.error('planner failed; event gets no reply', { ...who, error });
    return undefined;
  }
  if (steps.length === 0) return undefined;
  return { ...sequenceTarget(event), sequenceId: event.eventId, steps, plannedAt };
};

/** Who a sequence answers: channel, account and user, and the inbound message its channel may name. */
const sequenceTarget = (event: InboundEvent) => ({
  channel: event.channel,
  pageId: event.pageId,
  psid: event.psid,
  // A reaction's mid names the reacted-to message (ours), not one the user sent: nothing to mark read.
  ...(event.mid !== undefined && event.kind !== 'reaction' && { inboundMid: event.mid }),
});

/** A sequence's id is its event's id (planEvent), so the ledger key names the inbound event. */
const answeredKey = (seq: SequenceToEnqueue): string => eventKey(seq.pageId, seq.sequenceId);

/**
 * Drops the sequences of events already answered: Meta re-delivers a POST not answered 200 for up to 36
 * hours, and now and then one that was (Meta, Webhooks "Event notifications"), while SQS FIFO deduplicates
 * only within 5 minutes of the first send (AWS SQS Developer Guide, exactly-once processing). One lookup per
 * event, all at once (a POST usually holds one). An unreadable ledger fails open: the event is enqueued, and
 * the dedup ids still catch a re-delivery within 5 minutes — a reply is never lost to a ledger outage, and
 * the outage never becomes a 5xx (which would only make Meta deliver again).
 */
const dropAnswered = async (
  sequences: readonly SequenceToEnqueue[],
  deps: WebhookDeps,
): Promise<SequenceToEnqueue[]> => {
  const { telemetry } = deps;
  const answered = await Promise.all(
    sequences.map(async (seq) => {
      try {
        return await deps.ledger.has(answeredKey(seq));
      } catch (error) {
        telemetry.metric('LedgerReadFailed', 1);
        telemetry.log.warn('answered-events ledger unreadable; enqueueing', {
          user: userLabel(seq.psid),
          eventId: seq.sequenceId,
          error,
        });
        return false;
      }
    }),
  );
  return sequences.filter((seq, i) => {
    if (!answered[i]) return true;
    telemetry.metric('DuplicateEventsDropped', 1);
    telemetry.log.info('event already answered; re-delivery dropped', {
      user: userLabel(seq.psid),
      eventId: seq.sequenceId,
    });
    return false;
  });
};

/**
 * Records an enqueued sequence's event as answered. Only AFTER the enqueue succeeded: recorded before, an
 * enqueue that then failed would leave the event marked and its re-delivery dropped — the reply lost. The
 * window this leaves (two deliveries of one event both checking before either records) is covered by SQS:
 * they are concurrent, so within 5 minutes, and the same dedup ids make the second enqueue a no-op. A failed
 * write is logged and counted, never fatal: the sequence is on the queue, and only a re-delivery later than
 * 5 minutes could then be answered twice.
 */
const recordAnswered = async (seq: SequenceToEnqueue, deps: WebhookDeps): Promise<void> => {
  try {
    await deps.ledger.record(answeredKey(seq));
  } catch (error) {
    deps.telemetry.metric('LedgerWriteFailed', 1);
    deps.telemetry.log.warn('could not record the answered event', {
      user: userLabel(seq.psid),
      eventId: seq.sequenceId,
      error,
    });
  }
};

/**
 * Users are independent, so their sequences go out concurrently; one user's sequences go out one after
 * the other in event order, so two replies to the same person never interleave in their FIFO group.
 * Each sequence is recorded as answered once enqueued (without holding up the next enqueue); all records
 * are awaited before the response, since a Lambda may be frozen right after it. Returns the number of
 * sequences that failed.
 */
const enqueueAll = async (sequences: readonly SequenceToEnqueue[], deps: WebhookDeps): Promise<number> => {
  const byUser = new Map<string, SequenceToEnqueue[]>();
  for (const seq of sequences) {
    const key = groupIdOf(seq.pageId, seq.psid);
    byUser.set(key, [...(byUser.get(key) ?? []), seq]);
  }
  const recordings: Promise<void>[] = [];
  const counts = await Promise.all(
    [...byUser.values()].map(async (queue) => {
      let failed = 0;
      for (const [i, seq] of queue.entries()) {
        try {
          await deps.enqueue(seq);
          recordings.push(recordAnswered(seq, deps));
        } catch (error) {
          // The rest of this user's sequences would land ahead of the failed one: hold them for the re-delivery.
          failed += queue.length - i;
          deps.telemetry.log.error('enqueue failed', {
            user: userLabel(seq.psid),
            sequenceId: seq.sequenceId,
            steps: seq.steps.length,
            error,
          });
          break;
        }
      }
      return failed;
    }),
  );
  await Promise.all(recordings);
  return counts.reduce((a, b) => a + b, 0);
};
