/**
 * Many accounts: the webhook answers only the accounts this deployment serves (META_ACCOUNT_IDS,
 * lib/platform/accounts.ts). An event for any other account — a Page subscribed to the app but not
 * configured here — is logged, counted and acknowledged (so Meta does not re-deliver it), never answered:
 * answering it would need another account's token.
 */
import type { Telemetry } from '../platform/telemetry.ts';
import type { InboundEvent } from '../queue/inbound.ts';

export const servedEvents = (
  events: readonly InboundEvent[],
  accounts: ReadonlySet<string> | undefined,
  telemetry: Pick<Telemetry, 'log' | 'metric'>,
): InboundEvent[] => {
  if (accounts === undefined) return [...events];
  return events.filter((event) => {
    if (accounts.has(event.pageId)) return true;
    telemetry.metric('EventsIgnored', 1, 'Count', { reason: 'unknown_account' });
    // Account ids are not secret and say which Page or number to add to META_ACCOUNT_IDS.
    telemetry.log.warn('event for an account this deployment does not serve; acknowledged, not answered', {
      account: event.pageId,
      channel: event.channel,
      eventId: event.eventId,
    });
    return false;
  });
};
