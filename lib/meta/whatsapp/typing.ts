/**
 * How often WhatsApp's typing indicator can be kept alive. Meta: the indicator "will be dismissed once you
 * respond, or after 25 seconds, whichever comes first" (WhatsApp → Typing indicators, updated 2026-06-17).
 * A public integration that tested it on a real number reports that a repeat inside those 25 s shows
 * nothing (vercel/chat PR #320, 2026-04-01: "a 25-second cooldown … it won't show up, but the message will
 * still be marked"); one vendor says a repeat refreshes it (YCloud API reference). Neither is Meta's word on
 * repeats, so the refresh is timed to work under both: just after the 25 s, when the first indicator is gone
 * (nothing lost if a repeat would have refreshed it) and the cooldown is over (so it shows if it would not).
 * The planner's 18 s Messenger refresh would, under the cooldown, show nothing at 18 s and leave the bubble
 * off from 25 s to 36 s of every 36 s — 11 s gaps; at 25.5 s the gap is the margin plus Graph's latency.
 */
import type { PlanConfig } from '../../pacing/config.ts';
import type { Channel } from '../../queue/recipient.ts';

export const WHATSAPP_TYPING_LIFETIME_MS = 25_000;
/** Past the lifetime by a margin for clock skew and Graph latency. */
export const WHATSAPP_TYPING_REFRESH_MS = WHATSAPP_TYPING_LIFETIME_MS + 500;

/**
 * The plan configuration a channel's typing model needs: WhatsApp refreshes its indicator every 25.5 s
 * instead of PLAN_TYPING_REFRESH_MS (Messenger's, ≤ 20 s); other channels keep the configured one.
 */
export const planConfigForChannel = <C extends Pick<PlanConfig, 'PLAN_TYPING_REFRESH_MS'>>(
  channel: Channel | undefined,
  config: C,
): C => (channel === 'whatsapp' ? { ...config, PLAN_TYPING_REFRESH_MS: WHATSAPP_TYPING_REFRESH_MS } : config);
