import { describe, expect, it } from 'vitest';
import { resolveSecrets } from '../../../lib/platform/config.ts';
import { ConfigError } from '../../../lib/platform/errors.ts';
import { loadResponderConfig } from '../../../lib/responder/config.ts';
import { loadResponder, type ResponderLoadDeps } from '../../../lib/responder/load.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

const base = {
  QUEUE_URL: 'http://127.0.0.1:9/000000000000/steps.fifo',
  RESPONDER_QUEUE_URL: 'http://127.0.0.1:9/000000000000/responder.fifo',
};
const depsFor = (env: Record<string, string>): ResponderLoadDeps => ({
  env,
  log: memoryTelemetry().log,
  secrets: (sources) => resolveSecrets(sources, async () => ''),
});

describe('loadResponder: RESPONDER=llm', () => {
  it('builds the LLM responder from LLM_*', async () => {
    const env = { ...base, RESPONDER: 'llm', LLM_MODEL: 'm', LLM_API_KEY: 'k' };
    const responder = await loadResponder(loadResponderConfig(env), depsFor(env));
    expect(typeof responder).toBe('function');
  });

  it('fails at cold start with a ConfigError naming the missing LLM variable', async () => {
    const env = { ...base, RESPONDER: 'llm', LLM_API_KEY: 'k' };
    const loading = loadResponder(loadResponderConfig(env), depsFor(env));
    await expect(loading).rejects.toBeInstanceOf(ConfigError);
    await expect(loading).rejects.toThrow(/LLM_MODEL/);
  });
});
