/**
 * The typing model's settings (lib/pacing/plan.ts), read by every function that plans steps: the webhook (the
 * prelude), the responder (reply pacing) and the console trigger. Defaults and their reasons: docs/typing-model.md.
 */
import { between, described, type Env, ms, parseEnv, positive } from '../platform/config.ts';
import * as z from '../platform/zod.ts';

/**
 * Messenger drops the typing bubble after ~20 s (Meta, Sender Actions: "typing indicators are automatically
 * turned off after 20 seconds"), WhatsApp after 25 s: a refresh must come before the shorter of the two.
 */
export const TYPING_BUBBLE_LIFETIME_MS = 20_000;

export const planConfigSchema = z.object({
  PLAN_READ_WPM: described(
    'Reading speed for the pause before typing starts (words per minute).',
    positive(238),
  ),
  PLAN_READ_MIN_MS: described('Shortest reading pause (ms).', ms(600)),
  PLAN_READ_MAX_MS: described('Longest reading pause (ms).', ms(3000)),
  PLAN_TYPING_CPM: described('Typing speed for a reply (characters per minute).', positive(720)),
  PLAN_TYPING_MIN_MS: described('Shortest typing time of a reply (ms).', ms(1000)),
  PLAN_TYPING_MAX_MS: described('Longest typing time of a reply (ms).', ms(7000)),
  PLAN_ATTACHMENT_TYPING_MS: described('Typing time before an attachment (ms).', ms(2000)),
  PLAN_BETWEEN_REPLIES_MS: described('Pause between two replies of one answer (ms).', ms(700)),
  PLAN_JITTER: described('Random spread of every duration (share, 0–0.5).', between(0, 0.5, 0.15)),
  PLAN_TYPING_REFRESH_MS: described(
    'How often a long wait repeats typing_on (ms, 1000–20000): before the bubble lapses (~20 s Messenger, 25 s WhatsApp); ≥ 1 s keeps a long wait from exploding into steps.',
    z._default(
      z.coerce.number().check(z.int(), z.minimum(1000), z.maximum(TYPING_BUBBLE_LIFETIME_MS)),
      18_000,
    ),
  ),
  PLAN_TIME_SCALE: described(
    'Multiplies every PLAN_* duration (0–100): 0.01 makes tests and demos 100× faster without special cases.',
    between(0, 100, 1),
  ),
});

export type PlanConfig = z.infer<typeof planConfigSchema>;

export const loadPlanConfig = (env: Env): PlanConfig => parseEnv(planConfigSchema, env);
