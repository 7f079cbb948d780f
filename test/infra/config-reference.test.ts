/**
 * docs/configuration.md is what infra/config-reference.ts writes from the schemas: a variable added to a
 * schema without regenerating the reference (or a meaning changed) fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference, configRows, REFERENCE_FILE } from '../../infra/config-reference.ts';
import { llmEnvSchema } from '../../lib/bots/llm/config.ts';
import { responderEnvSchema } from '../../lib/responder/config.ts';
import { senderEnvSchema } from '../../lib/sender/config.ts';
import { webhookEnvSchema } from '../../lib/webhook/config.ts';

describe('configuration reference', () => {
  it('is current: docs/configuration.md equals what `npm run config-reference` writes', () => {
    expect(readFileSync(REFERENCE_FILE, 'utf8')).toEqual(configReference());
  });

  it('names every variable every function schema reads, with its meaning', () => {
    const documented = readFileSync(REFERENCE_FILE, 'utf8');
    const names = [webhookEnvSchema, senderEnvSchema, responderEnvSchema, llmEnvSchema].flatMap((s) =>
      Object.keys(s.shape),
    );
    expect(names.filter((n) => !documented.includes(`| \`${n}\` |`))).toEqual([]);
    expect(configRows().every((r) => r.meaning.length > 10)).toBe(true);
  });

  it('says which functions read a shared variable', () => {
    const plan = configRows().find((r) => r.name === 'PLAN_TIME_SCALE');
    expect([...(plan?.functions ?? [])].sort()).toEqual(['responder', 'send', 'webhook']);
  });
});
