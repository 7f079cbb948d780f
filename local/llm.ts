/**
 * The LLM responder on the local stack (RESPONDER=llm): `LLM_BASE_URL=fake` (or unset) starts the local
 * OpenAI-compatible fake (local/openai-fake.ts) and points the responder at it; any other base URL is used
 * as it is — a local Ollama (`LLM_BASE_URL=http://127.0.0.1:11434/v1 LLM_MODEL=llama3.2`), vLLM, llama.cpp,
 * or a real endpoint with its key. Local servers ignore the key, so a loopback URL needs none.
 */
import type { Env } from '../lib/platform/config.ts';
import { portFrom } from './defaults.ts';
import { type OpenAiFake, startOpenAiFake } from './openai-fake.ts';

/** A throwaway key the fake checks; it only works locally. */
export const LOCAL_LLM_KEY = 'local-llm-key';

export type LocalLlm = {
  /** Variables to build the responder with (on top of the caller's env). */
  env: Env;
  /** One line for the start-up banner. */
  describe: string;
  fake?: OpenAiFake;
  stop: () => Promise<void>;
};

const isLoopback = (url: string): boolean => {
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
  } catch {
    return false;
  }
};

export const startLocalLlm = async (env: Env): Promise<LocalLlm> => {
  const baseUrl = env.LLM_BASE_URL;
  if (baseUrl === undefined || baseUrl === '' || baseUrl === 'fake') {
    const fake = await startOpenAiFake({
      apiKey: LOCAL_LLM_KEY,
      port: portFrom(env, 'ELLIPSIS_LLM_PORT', 0),
    });
    return {
      env: { LLM_BASE_URL: fake.baseUrl, LLM_API_KEY: LOCAL_LLM_KEY, LLM_MODEL: env.LLM_MODEL || 'fake' },
      describe: `local OpenAI fake at ${fake.baseUrl} (set LLM_BASE_URL for a real model)`,
      fake,
      stop: fake.stop,
    };
  }
  const needsNoKey = isLoopback(baseUrl) && !env.LLM_API_KEY && !env.LLM_API_KEY_PARAM;
  return {
    // Ollama's own OpenAI-compatibility docs use the placeholder key "ollama".
    env: needsNoKey ? { LLM_API_KEY: 'ollama' } : {},
    describe: `${baseUrl} model ${env.LLM_MODEL ?? '(LLM_MODEL unset)'}`,
    stop: async () => {},
  };
};
