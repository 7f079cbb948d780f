/**
 * Which responder the responder function runs: RESPONDER_MODULE (any module exporting a Responder, default
 * or named `responder`: a bot author tries theirs with no code change), else RESPONDER: `rules` (the bundled
 * rules, or RESPONDER_RULES_FILE), `slow` (the same rules after RESPONDER_SLOW_MS of thinking, to watch
 * the typing bubble stay on) or `llm` (an OpenAI-compatible model, lib/bots/llm/, configured by LLM_*).
 * Called once at cold start, so a broken module or configuration fails loudly, once.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LlmResponderFromEnvDeps } from '../bots/llm/index.ts';
import { loadRulesResponder, type Responder } from '../bots/responder.ts';
import type { Env } from '../platform/config.ts';
import { ConfigError } from '../platform/errors.ts';
import type { ResponderEnv } from './config.ts';

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

/** What RESPONDER=llm is built from: the function's env (LLM_*) and its start-up helpers. */
export type ResponderLoadDeps = LlmResponderFromEnvDeps & { env: Env };

export const loadResponder = async (
  config: Pick<ResponderEnv, 'RESPONDER' | 'RESPONDER_MODULE' | 'RESPONDER_RULES_FILE' | 'RESPONDER_SLOW_MS'>,
  deps: ResponderLoadDeps,
): Promise<Responder> => {
  if (config.RESPONDER_MODULE !== undefined) return importResponder(config.RESPONDER_MODULE);
  // Imported only when chosen: the openai client is not evaluated by a rules responder's cold start.
  if (config.RESPONDER === 'llm')
    return (await import('../bots/llm/index.ts')).llmResponderFromEnv(deps.env, deps);
  const rules = loadRulesResponder(config.RESPONDER_RULES_FILE);
  return config.RESPONDER === 'slow' ? slowResponder(config.RESPONDER_SLOW_MS, rules) : rules;
};
