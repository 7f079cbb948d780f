/**
 * The responder function's configuration: which responder runs, its queues, and the turn policy — how long
 * a burst may grow, how long the responder may think, what a failure costs (lib/responder/turn.ts).
 */

import { planConfigSchema } from '../pacing/config.ts';
import {
  abortTtlSeconds,
  described,
  type Env,
  ms,
  nonEmptyIfSet,
  parseEnv,
  positive,
  queueSchema,
  stateTableSchema,
  urlList,
  whole,
} from '../platform/config.ts';
import { disclosureSchema } from '../platform/takeover-config.ts';
import * as z from '../platform/zod.ts';

export const turnPolicySchema = z.object({
  RESPONDER_QUIET_MS: described(
    'A turn waits until its newest message is this old, so messages typed in a row are answered together (ms, real time).',
    ms(2000),
  ),
  RESPONDER_MAX_DEFERRALS: described(
    'Quiet-window deferrals a turn may spend; after them it is answered even if the user keeps typing.',
    whole(0, 4),
  ),
  RESPONDER_MAX_THINKING_MS: described(
    "The longest the responder may think, typing kept on (ms); capped by the function's remaining time minus a reserve. Then typing stops and the fallback (if any) is sent.",
    ms(100_000),
  ),
  RESPONDER_FALLBACK_TEXT: described(
    'Sent when the responder runs out of thinking time; unset = say nothing.',
    z.optional(z.string().check(z.maxLength(2000))),
  ),
  RESPONDER_QUEUE_MAX_RECEIVE_COUNT: described(
    "Must equal the responder queue's redrive maxReceiveCount (serverless.yml).",
    whole(2, 10),
  ),
  RESPONDER_RETRY_BASE_SECONDS: described(
    'Backoff base for a turn whose responder threw: 2 s, 4 s, 8 s… (full jitter).',
    positive(2),
  ),
  RESPONDER_MID_REPLY: described(
    "A message that arrives while a reply is typed: 'finish' the reply, then answer, or 'restart': drop its unsent part and answer every message at once.",
    z._default(z.enum(['finish', 'restart']), 'finish'),
  ),
});

export const responderEnvSchema = z.object({
  ...queueSchema.shape,
  ...planConfigSchema.shape,
  ...turnPolicySchema.shape,
  RESPONDER_QUEUE_URL: described('The responder FIFO queue this function consumes.', z.url()),
  RESPONDER_DLQ_URL: described(
    'Where turns that keep failing go (FIFO, like the responder queue).',
    z.optional(z.url()),
  ),
  RESPONDER_QUEUE_URLS: described(
    'All responder FIFO queue shards this function consumes, comma-separated, shard 0 first; unset: RESPONDER_QUEUE_URL alone.',
    z.optional(urlList()),
  ),
  RESPONDER_DLQ_URLS: described(
    "Each responder queue shard's dead-letter queue, comma-separated, in RESPONDER_QUEUE_URLS order.",
    z.optional(urlList()),
  ),
  RESPONDER: described(
    'rules (default) | slow (thinks RESPONDER_SLOW_MS, then answers by the rules) | llm (an OpenAI-compatible model, LLM_*).',
    z._default(z.enum(['rules', 'slow', 'llm']), 'rules'),
  ),
  RESPONDER_MODULE: described(
    'A module exporting a Responder (default or named `responder`); wins over RESPONDER.',
    nonEmptyIfSet(),
  ),
  RESPONDER_RULES_FILE: described(
    'A JSON rules file for the rules responder (else the bundled rules).',
    nonEmptyIfSet(),
  ),
  RESPONDER_SLOW_MS: described('How long RESPONDER=slow thinks (ms).', ms(8000)),
  ABORT_TTL_SECONDS: abortTtlSeconds,
  ...stateTableSchema.shape,
  ...disclosureSchema.shape,
});

export type ResponderEnv = z.infer<typeof responderEnvSchema>;
export type TurnPolicy = z.infer<typeof turnPolicySchema>;

export const loadResponderConfig = (env: Env): ResponderEnv => parseEnv(responderEnvSchema, env);
