/**
 * Whether an inbound event deserves an answer at all. Its own module: the webhook asks it for every event
 * (to plan seen and typing at once), and importing the rules responder for it would build and validate the
 * bundled rules at the webhook's cold start.
 */
import type { InboundEvent } from '../queue/inbound.ts';

/** Something a person deliberately sent: it deserves an answer even when no rule knows it. */
export const wantsAnswer = (event: InboundEvent): boolean =>
  event.kind === 'postback' ||
  (event.kind === 'message' &&
    ((event.text !== undefined && event.text.trim() !== '') ||
      event.attachments.length > 0 ||
      event.quickReplyPayload !== undefined));
