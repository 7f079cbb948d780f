/**
 * A streamed Chat Completion as plain text deltas, through the official `openai` client (any
 * OpenAI-compatible base URL). The client's own retries are off: a failed turn is retried by the responder
 * stage, which also bounds the whole think with `signal`. Failures become LlmErrors without the key.
 */
import OpenAI, { APIConnectionTimeoutError, APIError } from 'openai';
import { redactor } from '../../platform/redaction.ts';
import { type LlmError, llmErrorFor } from './errors.ts';
import type { ChatMessage } from './prompt.ts';

/** Streams the answer to `messages` as text deltas; aborting `signal` aborts the HTTP request. */
export type Complete = (messages: readonly ChatMessage[], signal: AbortSignal) => AsyncIterable<string>;

export type CompletionOptions = {
  baseUrl: string;
  apiKey: string;
  model: string;
  timeoutMs: number;
  maxTokens?: number | undefined;
  temperature?: number | undefined;
};

const toLlmError = (error: unknown, timeoutMs: number, redact: (text: string) => string): LlmError => {
  if (error instanceof APIConnectionTimeoutError) {
    return llmErrorFor({ message: `no response within ${timeoutMs} ms` }, redact);
  }
  const message = error instanceof Error ? error.message : String(error);
  const status = error instanceof APIError ? error.status : undefined;
  // The client prefixes its messages with the status; the LlmError states it once.
  return llmErrorFor({ status, message: message.replace(/^\d{3} /, '') }, redact);
};

export const openAiComplete = (options: CompletionOptions): Complete => {
  const { model, timeoutMs, maxTokens, temperature } = options;
  const client = new OpenAI({
    baseURL: options.baseUrl,
    apiKey: options.apiKey,
    timeout: timeoutMs,
    maxRetries: 0,
    // Configured by LLM_* only: no OPENAI_ORG_ID / OPENAI_PROJECT_ID headers picked up from the environment,
    // and no OPENAI_LOG request logging next to the function's own (redacted) logs.
    organization: null,
    project: null,
    logLevel: 'off',
  });
  const redact = redactor([options.apiKey]);
  return async function* complete(messages, signal) {
    try {
      const stream = await client.chat.completions.create(
        {
          model,
          messages: messages.map((m) => ({ ...m })),
          stream: true,
          // max_tokens, not max_completion_tokens: the one every compatible server (Ollama, vLLM, llama.cpp) reads.
          ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
          ...(temperature === undefined ? {} : { temperature }),
        },
        { signal },
      );
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta?.content;
        if (delta) yield delta;
      }
      // The client ends its stream quietly when aborted; a cut-off answer must not pass for a whole one.
      if (signal.aborted) throw signal.reason;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw toLlmError(error, timeoutMs, redact);
    }
  };
};
