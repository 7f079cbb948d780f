/**
 * Which responder the responder function runs: RESPONDER_MODULE (any module exporting a Responder, default
 * or named `responder`: a bot author tries theirs with no code change), else RESPONDER: `rules` (the bundled
 * rules, or RESPONDER_RULES_FILE), `slow` (the same rules after RESPONDER_SLOW_MS of thinking, to watch
 * the typing bubble stay on) or `llm` (lib/reply/llm/, configured by its LLM_* variables). Called once at
 * cold start, so a broken module or configuration fails loudly, once.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Env, ResponderEnv } from '../platform/config.ts';
import { ConfigError } from '../platform/errors.ts';
import type { Startup } from '../platform/runtime.ts';
import type { Log } from '../platform/telemetry.ts';
import { loadRulesResponder, type Responder } from './responder.ts';

export class ResponderLoadError extends ConfigError {
  override name = 'ResponderLoadError';
}

/** Resolves after `ms`, or rejects when the turn's thinking time runs out first. */
const think = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((done, fail) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      fail(signal.reason);
    });
  });

/** A responder that thinks `ms` before answering as `inner` would: the demo of a long think. */
export const slowResponder =
  (ms: number, inner: Responder): Responder =>
  async (event, turn) => {
    await think(ms, turn.signal);
    return inner(event, turn);
  };

const isResponder = (value: unknown): value is Responder => typeof value === 'function';

/** Imports a module by path (relative to the working directory) and returns its Responder export. */
export const importResponder = async (path: string): Promise<Responder> => {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ResponderLoadError(`RESPONDER_MODULE ${path} could not be imported: ${why}`);
  }
  const found = [mod.responder, mod.default].find(isResponder);
  if (found === undefined) {
    throw new ResponderLoadError(
      `RESPONDER_MODULE ${path} exports no Responder: export a function as default or as \`responder\``,
    );
  }
  return found;
};

/** What RESPONDER=llm needs from the function: the env (LLM_*), and the start-up's secret resolver and log. */
export type LlmWiring = {
  env: Env;
  /** Resolves LLM_API_KEY / LLM_API_KEY_PARAM at cold start and redacts it from every later log. */
  secrets: Startup['secrets'];
  log: Pick<Log, 'warn'>;
};

/** The LLM responder, its key resolved (and redacted) up front rather than on the first turn. */
const llmResponderOf = async ({ env, secrets, log }: LlmWiring): Promise<Responder> => {
  const [{ llmResponderFromEnv }, { loadLlmConfig }] = await Promise.all([
    import('./llm/index.ts'),
    import('./llm/config.ts'),
  ]);
  const { LLM_API_KEY } = await secrets({ LLM_API_KEY: loadLlmConfig(env).apiKey });
  return llmResponderFromEnv({ ...env, LLM_API_KEY, LLM_API_KEY_PARAM: undefined }, { log });
};

export const loadResponder = async (
  config: Pick<ResponderEnv, 'RESPONDER' | 'RESPONDER_MODULE' | 'RESPONDER_RULES_FILE' | 'RESPONDER_SLOW_MS'>,
  llm?: LlmWiring,
): Promise<Responder> => {
  if (config.RESPONDER_MODULE !== undefined) return importResponder(config.RESPONDER_MODULE);
  if (config.RESPONDER === 'llm') {
    if (llm === undefined)
      throw new ResponderLoadError('RESPONDER=llm needs the function start-up (secrets)');
    return llmResponderOf(llm);
  }
  const rules = loadRulesResponder(config.RESPONDER_RULES_FILE);
  return config.RESPONDER === 'slow' ? slowResponder(config.RESPONDER_SLOW_MS, rules) : rules;
};
