/**
 * `llmResponderFromEnv(env, deps)`: the LLM responder the responder stage selects with RESPONDER=llm.
 * Configuration is validated at once (a ConfigError names the variable); the API key is resolved on the
 * first turn through the handler's `secrets` (lib/platform/runtime.ts: SSM for LLM_API_KEY_PARAM, and the
 * value redacted from every later log).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Env } from '../../platform/config.ts';
import type { Startup } from '../../platform/runtime.ts';
import { stateTableClient } from '../../platform/state-table.ts';
import type { Log } from '../../platform/telemetry.ts';
import type { Responder } from '../responder.ts';
import { type Complete, openAiComplete } from './completion.ts';
import { type LlmConfig, loadLlmConfig } from './config.ts';
import { type ConversationStore, memoryConversations } from './conversation.ts';
import { dynamoConversations } from './conversation-dynamo.ts';
import { llmResponder } from './responder.ts';

export { LlmError, LlmRequestError, LlmUnavailableError } from './errors.ts';

export type LlmResponderFromEnvDeps = {
  log: Pick<Log, 'warn'>;
  /** Resolves LLM_API_KEY / LLM_API_KEY_PARAM and redacts the value from the caller's logs (Startup.secrets). */
  secrets: Startup['secrets'];
  dynamo?: Pick<DynamoDBClient, 'send'>;
  conversations?: ConversationStore;
  now?: () => number;
};

const conversationsFor = (config: LlmConfig, deps: LlmResponderFromEnvDeps): ConversationStore => {
  if (deps.conversations !== undefined) return deps.conversations;
  const ttlSeconds = config.LLM_HISTORY_TTL_SECONDS;
  if (config.STATE_TABLE_NAME !== undefined) {
    return dynamoConversations(deps.dynamo ?? stateTableClient(), config.STATE_TABLE_NAME, {
      ttlSeconds,
      now: deps.now,
    });
  }
  if (config.LLM_HISTORY_TURNS > 0) {
    deps.log.warn('STATE_TABLE_NAME not set: LLM conversation memory is kept per container only');
  }
  return memoryConversations({ ttlMs: ttlSeconds * 1000, now: deps.now });
};

/** The client is built on the first turn; a failed key lookup is tried again on the next one. */
const lazyComplete = (config: LlmConfig, deps: LlmResponderFromEnvDeps): Complete => {
  let client: Promise<Complete> | undefined;
  const build = async (): Promise<Complete> => {
    const { LLM_API_KEY } = await deps.secrets({ LLM_API_KEY: config.apiKey });
    return openAiComplete({
      baseUrl: config.LLM_BASE_URL,
      apiKey: LLM_API_KEY,
      model: config.LLM_MODEL,
      timeoutMs: config.LLM_TIMEOUT_MS,
      maxTokens: config.LLM_MAX_TOKENS,
      temperature: config.LLM_TEMPERATURE,
    });
  };
  return async function* complete(messages, signal) {
    client ??= build().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    yield* (await client)(messages, signal);
  };
};

export const llmResponderFromEnv = (env: Env, deps: LlmResponderFromEnvDeps): Responder => {
  const config = loadLlmConfig(env);
  return llmResponder({
    complete: lazyComplete(config, deps),
    conversations: conversationsFor(config, deps),
    systemPrompt: config.LLM_SYSTEM_PROMPT,
    maxBubbleChars: config.LLM_MAX_BUBBLE_CHARS,
    historyTurns: config.LLM_HISTORY_TURNS,
    historyMaxBytes: config.LLM_HISTORY_MAX_BYTES,
    now: deps.now ?? Date.now,
    log: deps.log,
  });
};
