/**
 * The LLM responder's configuration, validated once at cold start: errors name the variable, never a value.
 * The API key is a secret like the Meta ones: LLM_API_KEY directly or LLM_API_KEY_PARAM (an SSM SecureString).
 */
import {
  described,
  type Env,
  parseEnv,
  parseSecrets,
  type SecretSource,
  stateTableSchema,
} from '../../platform/config.ts';
import * as z from '../../platform/zod.ts';

/** Messenger rejects a text message over 2,000 characters (Meta, Send API reference, "message.text"). */
export const MESSENGER_TEXT_LIMIT = 2000;

export const DEFAULT_SYSTEM_PROMPT =
  'You are a friendly assistant chatting in Messenger. Answer briefly, in plain text without Markdown, ' +
  'in short paragraphs separated by a blank line; each paragraph is sent as its own message.';

const int = (min: number, max: number, fallback: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max)), fallback);

export const llmEnvSchema = z.object({
  LLM_BASE_URL: described(
    'Any OpenAI-compatible Chat Completions base URL (…/v1): OpenAI, Azure OpenAI v1, Ollama, vLLM, llama.cpp.',
    z._default(z.url(), 'https://api.openai.com/v1'),
  ),
  LLM_MODEL: described('The model name (required with RESPONDER=llm).', z.string().check(z.minLength(1))),
  LLM_SYSTEM_PROMPT: described(
    'The system prompt.',
    z._default(z.string().check(z.minLength(1)), DEFAULT_SYSTEM_PROMPT),
  ),
  LLM_MAX_TOKENS: described(
    "Largest answer in tokens, sent as max_tokens (what every compatible server reads); unset = the model's own limit.",
    z.optional(z.coerce.number().check(z.int(), z.positive())),
  ),
  LLM_TEMPERATURE: described(
    "Sampling temperature (0–2), sent as temperature; unset = the model's default.",
    z.optional(z.coerce.number().check(z.minimum(0), z.maximum(2))),
  ),
  LLM_TIMEOUT_MS: described(
    "Until the response starts streaming (ms); the turn's own deadline bounds the whole think.",
    int(1000, 600_000, 60_000),
  ),
  LLM_MAX_BUBBLE_CHARS: described(
    "A bubble is a paragraph; a longer one is cut at a line break, else a sentence end, else a space (characters, ≤ 2000: Messenger's limit).",
    int(100, MESSENGER_TEXT_LIMIT, 1000),
  ),
  LLM_HISTORY_TURNS: described(
    'Turns (user messages + answer) remembered per user and sent back as context; 0 = no memory.',
    int(0, 100, 10),
  ),
  LLM_HISTORY_TTL_SECONDS: described(
    'A conversation quiet for this long is forgotten (state table TTL, s; default 7 days).',
    int(60, 31_536_000, 604_800),
  ),
  LLM_HISTORY_MAX_BYTES: described(
    'Stored history per user, in UTF-8 bytes of JSON, oldest turns dropped first (DynamoDB items stop at 400 KB).',
    int(1024, 350_000, 64_000),
  ),
  ...stateTableSchema.shape,
});

export type LlmEnv = z.infer<typeof llmEnvSchema>;
export type LlmConfig = LlmEnv & { apiKey: SecretSource };

/** Throws ConfigError naming each broken variable (LLM_MODEL, LLM_API_KEY or LLM_API_KEY_PARAM, …). */
export const loadLlmConfig = (env: Env): LlmConfig => ({
  ...parseEnv(llmEnvSchema, env),
  apiKey: parseSecrets(env, ['LLM_API_KEY']).LLM_API_KEY,
});
