/**
 * The webhook core: Meta's GET verification handshake and signed POST events, as a pure function of a plain
 * request and injected dependencies (the Lambda adapter is functions/webhook.ts).
 *
 * POST order matters: size limit (before hashing), signature over the raw bytes (before parsing), JSON,
 * envelope, then events. Every reject is a 4xx with a reason and enqueues nothing. Meta re-delivers a POST
 * that is not answered 200 (Meta, Webhooks "Event notifications"), so 500 is returned only when an enqueue
 * failed. A re-delivery gets no second reply: an enqueued event is recorded in the ledger and skipped when it
 * comes again, and deterministic dedup ids (lib/queue/producer.ts) cover the first 5 minutes.
 *
 * The webhook never waits for a responder (issue #12): it enqueues each event's prelude (seen, reading
 * pause, typing) on the steps queue and the event itself on the responder queue, then answers 200. What
 * to say is decided by the responder function (functions/responder.ts, lib/responder/turn.ts).
 */

import { wantsAnswer } from '../bots/wants-answer.ts';
import { envelopeProblem, parseWebhookBody } from '../meta/inbound.ts';
import { eventKey, type Ledger } from '../platform/ledger.ts';
import { type Telemetry, userLabel } from '../platform/telemetry.ts';
import { groupIdOf } from '../queue/codec.ts';
import { type InboundEvent, sequenceTargetOf } from '../queue/inbound.ts';
import { INBOUND_BODY_VERSION, type QueuedInbound } from '../queue/inbound-codec.ts';
import type { SequenceToEnqueue } from '../queue/producer.ts';
import type { Step } from '../queue/step.ts';
import { servedEvents } from './accounts.ts';
import { parseJsonBody } from './body.ts';
import { safeEqual, verifySignature } from './signature.ts';
import { applyTakeovers, noteUsersWrote, type WebhookTakeover } from './takeover.ts';

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
  /** The prelude's plan for an event (lib/pacing/plan.ts planPrelude, bound to the typing model). */
  planPrelude: (event: InboundEvent) => { steps: Step[]; typingAfterMs: number };
  /** Steps queue (the prelude). */
  enqueue: (seq: SequenceToEnqueue) => Promise<unknown>;
  /** Responder queue (the event itself; lib/responder/turn.ts answers it). */
  enqueueInbound: (inbound: QueuedInbound) => Promise<unknown>;
  /**
   * A body's events all at once, in as few SQS calls as FIFO allows (lib/webhook/batched-enqueue.ts): the
   * indices of those not enqueued. Absent: one event at a time through enqueue and enqueueInbound.
   */
  enqueueEvents?: (events: readonly PlannedEvent[]) => Promise<ReadonlySet<number>>;
  /** Events already answered (key: lib/platform/ledger.ts eventKey), remembered past SQS's 5-minute dedup window. */
  ledger: Ledger;
  now: () => number;
  telemetry: Telemetry;
  maxBodyBytes: number;
  /** The accounts answered (META_ACCOUNT_IDS); undefined: every account (lib/webhook/accounts.ts). */
  accounts?: ReadonlySet<string>;
  /** Who holds each conversation (lib/webhook/takeover.ts); undefined: takeovers are not detected. */
  takeover?: WebhookTakeover;
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

/** Size limit (before hashing), then the signature over the raw bytes (before parsing); undefined: verified. */
const verifyRequest = (request: WebhookRequest, deps: WebhookDeps): WebhookResponse | undefined => {
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
  return undefined;
};

/** The events of a verified body, those of the accounts served, with the counts of the items skipped. */
type ReceivedEvents = {
  events: InboundEvent[];
  ignored: Record<string, number>;
  plannedAt: number;
  json: unknown;
};

/** JSON, then the envelope, then the events; each event and each ignored reason is counted. */
const parseEvents = (body: Uint8Array, deps: WebhookDeps): ReceivedEvents | WebhookResponse => {
  const { telemetry } = deps;
  const decoded = parseJsonBody(body);
  if (!decoded.ok) return reject(deps, 400, decoded.reason, 'malformed');
  const problem = envelopeProblem(decoded.json);
  if (problem !== undefined) return reject(deps, 400, problem, 'not_page');

  const plannedAt = deps.now();
  const parsed = parseWebhookBody(decoded.json, plannedAt);
  const { ignored } = parsed;
  const events = servedEvents(parsed.events, deps.accounts, telemetry);
  for (const [reason, count] of Object.entries(ignored)) {
    telemetry.metric('EventsIgnored', count, 'Count', { reason });
  }
  for (const event of events) telemetry.metric('EventsReceived', 1, 'Count', { kind: event.kind });
  return { events, ignored, plannedAt, json: decoded.json };
};

/** Takeover signals first: a person's echo in the same body as a user message holds that message too. */
const recordTakeovers = async (received: ReceivedEvents, deps: WebhookDeps): Promise<number> => {
  const { takeover } = deps;
  if (takeover === undefined) return 0;
  return applyTakeovers(received.json, received.plannedAt, { ...deps, takeover });
};

/** Plans every event; a planner that throws loses that event only (counted and logged), never the others. */
const planEvents = (
  events: readonly InboundEvent[],
  plannedAt: number,
  deps: WebhookDeps,
): PlannedEvent[] => {
  const planned: PlannedEvent[] = [];
  for (const event of events) {
    try {
      planned.push(planEvent(event, plannedAt, deps));
    } catch (error) {
      deps.telemetry.metric('PlanErrors', 1);
      deps.telemetry.log.error('prelude planner failed; event not enqueued', {
        user: userLabel(event.psid),
        eventId: event.eventId,
        error,
      });
    }
  }
  return planned;
};

const receiveEvents = async (request: WebhookRequest, deps: WebhookDeps): Promise<WebhookResponse> => {
  const { telemetry } = deps;
  const rejected = verifyRequest(request, deps);
  if (rejected !== undefined) return rejected;
  const received = parseEvents(request.body, deps);
  if ('statusCode' in received) return received;
  if ((await recordTakeovers(received, deps)) > 0) return text(500, 'could not record a takeover; retry');

  const planned = planEvents(received.events, received.plannedAt, deps);
  const fresh = await dropAnswered(planned, deps);
  const wrote = fresh.filter((p) => p.prelude !== undefined).map((p) => p.inbound.event);
  const [failures] = await Promise.all([
    enqueueAll(fresh, deps),
    deps.takeover && noteUsersWrote(wrote, received.plannedAt, { ...deps, takeover: deps.takeover }),
  ]);
  telemetry.metric('EventsEnqueued', fresh.length - failures);
  if (failures > 0) {
    telemetry.metric('EnqueueFailures', failures);
    return text(500, 'could not enqueue events; retry');
  }
  telemetry.log.info('webhook processed', {
    events: received.events.length,
    enqueued: fresh.length,
    duplicates: planned.length - fresh.length,
    ignored: received.ignored,
  });
  return text(200, EVENT_RECEIVED);
};

/** What the webhook enqueues for one event: its prelude on the steps queue, the event on the responder queue. */
export type PlannedEvent = { prelude?: SequenceToEnqueue; inbound: QueuedInbound };

/**
 * The prelude (mark_seen, reading pause, typing_on) for events a person would read and answer, planned from
 * the event alone so seen and typing never wait for the responder; every event goes to the responder.
 */
const planEvent = (event: InboundEvent, plannedAt: number, deps: WebhookDeps): PlannedEvent => {
  const planned = wantsAnswer(event) ? deps.planPrelude(event) : undefined;
  const inbound: QueuedInbound = {
    v: INBOUND_BODY_VERSION,
    event,
    receivedAt: plannedAt,
    ...(planned && { typingAt: plannedAt + planned.typingAfterMs }),
  };
  if (planned === undefined) return { inbound };
  const prelude = {
    ...sequenceTargetOf(event),
    sequenceId: event.eventId,
    steps: planned.steps,
    plannedAt,
  };
  return { prelude, inbound };
};

/** The ledger key names the inbound event. */
const answeredKey = ({ inbound }: PlannedEvent): string =>
  eventKey(inbound.event.pageId, inbound.event.eventId);

const who = ({ inbound }: PlannedEvent) => ({
  user: userLabel(inbound.event.psid),
  eventId: inbound.event.eventId,
});

/**
 * Drops the events already enqueued: Meta re-delivers a POST not answered 200 for up to 36
 * hours, and now and then one that was (Meta, Webhooks "Event notifications"), while SQS FIFO deduplicates
 * only within 5 minutes of the first send (AWS SQS Developer Guide, exactly-once processing). One lookup per
 * event, all at once (a POST usually holds one). An unreadable ledger fails open: the event is enqueued, and
 * the dedup ids still catch a re-delivery within 5 minutes — a reply is never lost to a ledger outage, and
 * the outage never becomes a 5xx (which would only make Meta deliver again).
 */
const dropAnswered = async (planned: readonly PlannedEvent[], deps: WebhookDeps): Promise<PlannedEvent[]> => {
  const { telemetry } = deps;
  const answered = await Promise.all(
    planned.map(async (p) => {
      try {
        return await deps.ledger.has(answeredKey(p));
      } catch (error) {
        telemetry.metric('LedgerReadFailed', 1);
        telemetry.log.warn('answered-events ledger unreadable; enqueueing', { ...who(p), error });
        return false;
      }
    }),
  );
  return planned.filter((p, i) => {
    if (!answered[i]) return true;
    telemetry.metric('DuplicateEventsDropped', 1);
    telemetry.log.info('event already answered; re-delivery dropped', who(p));
    return false;
  });
};

/**
 * Records an enqueued event as answered. Only AFTER the enqueue succeeded: recorded before, an
 * enqueue that then failed would leave the event marked and its re-delivery dropped — the reply lost. The
 * window this leaves (two deliveries of one event both checking before either records) is covered by SQS:
 * they are concurrent, so within 5 minutes, and the same dedup ids make the second enqueue a no-op. A failed
 * write is logged and counted, never fatal: the event is on the queue, and only a re-delivery later than
 * 5 minutes could then be answered twice.
 */
const recordAnswered = async (planned: PlannedEvent, deps: WebhookDeps): Promise<void> => {
  try {
    await deps.ledger.record(answeredKey(planned));
  } catch (error) {
    deps.telemetry.metric('LedgerWriteFailed', 1);
    deps.telemetry.log.warn('could not record the answered event', { ...who(planned), error });
  }
};

/** Prelude first (seen comes first), then the event; a retry re-sends both with the same dedup ids. */
const enqueueEvent = async (planned: PlannedEvent, deps: WebhookDeps): Promise<void> => {
  if (planned.prelude) await deps.enqueue(planned.prelude);
  await deps.enqueueInbound(planned.inbound);
};

/**
 * Users are independent, so their events go out concurrently; one user's events go out one after the
 * other in arrival order, so their steps and turns never interleave in their FIFO groups. Returns the
 * indices of the events that failed (an event that failed holds back the user's later ones).
 */
const enqueueEach = async (events: readonly PlannedEvent[], deps: WebhookDeps): Promise<Set<number>> => {
  const byUser = new Map<string, number[]>();
  events.forEach((p, i) => {
    const key = groupIdOf(p.inbound.event.pageId, p.inbound.event.psid);
    byUser.set(key, [...(byUser.get(key) ?? []), i]);
  });
  const failed = new Set<number>();
  await Promise.all(
    [...byUser.values()].map(async (queue) => {
      for (const [n, i] of queue.entries()) {
        const p = events[i];
        if (p === undefined) continue;
        try {
          await enqueueEvent(p, deps);
        } catch (error) {
          // The rest of this user's events would land ahead of the failed one: hold them for the re-delivery.
          deps.telemetry.log.error('enqueue failed', { ...who(p), error });
          for (const later of queue.slice(n)) failed.add(later);
          return;
        }
      }
    }),
  );
  return failed;
};

/**
 * Enqueues the events (batched when the deps can, else one by one) and records each enqueued one as
 * answered; all records are awaited before the response, since a Lambda may be frozen right after it.
 * Returns the number of events that failed.
 */
const enqueueAll = async (events: readonly PlannedEvent[], deps: WebhookDeps): Promise<number> => {
  const failed = deps.enqueueEvents ? await deps.enqueueEvents(events) : await enqueueEach(events, deps);
  if (deps.enqueueEvents) {
    for (const i of failed) {
      const p = events[i];
      if (p) deps.telemetry.log.error('enqueue failed', who(p));
    }
  }
  await Promise.all(events.filter((_, i) => !failed.has(i)).map((p) => recordAnswered(p, deps)));
  return failed.size;
};
