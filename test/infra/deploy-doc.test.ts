/**
 * docs/deploy.md's concurrency numbers are the template's: the maxima it quotes are serverless.yml's param
 * defaults and the packaged mappings' MaximumConcurrency, the reservations it suggests cover them, and its
 * total and minimum quota add up (Lambda keeps 100 unreserved). A changed default fails here until the doc
 * follows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../infra/package.ts';
import type { Template } from '../../infra/template-check/template.ts';
import { packagedTemplate } from './packaged-template.ts';

const doc = readFileSync(join(repoRoot, 'docs', 'deploy.md'), 'utf8');
const serverlessYml = readFileSync(join(repoRoot, 'serverless.yml'), 'utf8');

/** A param's default in serverless.yml (`params.default`, four-space indent). */
const paramDefault = (name: string): string => {
  const match = new RegExp(`^ {4}${name}: (.*)$`, 'm').exec(serverlessYml);
  if (!match) throw new Error(`serverless.yml has no param ${name}`);
  return (match[1] ?? '').replace(/^"(.*)"$/, '$1');
};
/** The number the doc gives after `name` in a table cell (`senderMaxConcurrency` 400, `x=400`). */
const docNumber = (pattern: string): number => {
  const match = new RegExp(`${pattern}\\D{0,3}(\\d+)`).exec(doc);
  if (!match) throw new Error(`docs/deploy.md does not give ${pattern}`);
  return Number(match[1]);
};

let template: Template;
beforeAll(async () => {
  template = await packagedTemplate();
}, 180_000);

const mappingMaximum = (queue: string): number => {
  const mapping = Object.values(template.Resources).find(
    (r) =>
      r.Type === 'AWS::Lambda::EventSourceMapping' &&
      JSON.stringify(r.Properties?.EventSourceArn).includes(queue),
  );
  return Number(
    (mapping?.Properties?.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency,
  );
};

describe('docs/deploy.md concurrency numbers', () => {
  it("quote the consumers' maxima as serverless.yml and the packaged template set them", () => {
    expect(docNumber('`senderMaxConcurrency`')).toBe(Number(paramDefault('senderMaxConcurrency')));
    expect(docNumber('`responderMaxConcurrency`')).toBe(Number(paramDefault('responderMaxConcurrency')));
    expect(docNumber('`senderMaxConcurrency`')).toBe(mappingMaximum('StepsQueue'));
    expect(docNumber('`responderMaxConcurrency`')).toBe(mappingMaximum('ResponderQueue'));
  });

  it('suggest reservations that cover the maxima, and a total and quota that add up', () => {
    const sender = docNumber('`senderReservedConcurrency=');
    const responder = docNumber('`responderReservedConcurrency=');
    const webhook = docNumber('`webhookReservedConcurrency=');
    expect(sender).toBeGreaterThanOrEqual(mappingMaximum('StepsQueue'));
    expect(responder).toBeGreaterThanOrEqual(mappingMaximum('ResponderQueue'));
    const total = sender + responder + webhook;
    expect(docNumber('\\*\\*total\\*\\*[^*]*\\*\\*')).toBe(total);
    expect(docNumber('at least \\*\\*')).toBe(total + 100);
    // The deploy command the doc gives sets the same values.
    expect(doc).toContain(
      `--param="senderReservedConcurrency=${sender}" --param="responderReservedConcurrency=${responder}" --param="webhookReservedConcurrency=${webhook}"`,
    );
  });

  it('name every reservation param serverless.yml has, all empty by default', () => {
    const names = [...serverlessYml.matchAll(/^ {4}(\w+ReservedConcurrency):/gm)].map((m) => m[1] ?? '');
    expect(names.sort()).toEqual([
      'responderReservedConcurrency',
      'senderReservedConcurrency',
      'webhookReservedConcurrency',
    ]);
    for (const name of names) {
      expect(paramDefault(name), name).toBe('');
      expect(doc, name).toContain(`\`${name}\``);
    }
  });
});
