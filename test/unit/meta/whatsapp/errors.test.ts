import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyGraphError } from '../../../../lib/meta/graph/errors.ts';
import { interpretGraphResponse } from '../../../../lib/meta/graph/response.ts';
import { channelShapeOf } from '../../../../lib/meta/outbound.ts';
import { PAIR_RATE_RETRY_MS, refineWhatsAppFailure } from '../../../../lib/meta/whatsapp/errors.ts';

const dir = join(import.meta.dirname, '../../../fixtures/whatsapp/errors');
const shape = channelShapeOf('whatsapp');

/** What test/fixtures/whatsapp/SOURCES.md says each real body must give. */
const EXPECTED: Record<
  string,
  { kind: 'transient' | 'permanent'; code: number; unreachable?: boolean; minRetryMs?: number }
> = {
  '130429-rate-limit.json': { kind: 'transient', code: 130429 },
  '131056-pair-rate-limit.repaired.json': { kind: 'transient', code: 131056, minRetryMs: PAIR_RATE_RETRY_MS },
  '131056-pair-rate-limit-string-code.reconstructed.json': {
    kind: 'transient',
    code: 131056,
    minRetryMs: PAIR_RATE_RETRY_MS,
  },
  '131047-re-engagement.reconstructed.json': { kind: 'permanent', code: 131047, unreachable: true },
};

const classify = (status: number, text: string, headers: Record<string, string> = {}) => {
  const outcome = interpretGraphResponse(status, text, headers, 0, shape);
  if (outcome.ok) throw new Error('expected a failure');
  return outcome;
};

describe('WhatsApp error classification on real bodies (test/fixtures/whatsapp/errors)', () => {
  it('has an expectation for every fixture', () => {
    expect(readdirSync(dir).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    const text = readFileSync(join(dir, file), 'utf8');
    // Graph answers these with 400 (429 for some pair-rate hits); the code decides either way.
    for (const status of [400, 429]) {
      const failure = classify(status, text);
      expect(failure.kind).toBe(expected.kind);
      expect(failure.code).toBe(expected.code);
      expect(failure.recipientUnreachable ?? false).toBe(expected.unreachable ?? false);
      if (expected.minRetryMs !== undefined)
        expect(failure.retryAfterMs).toBeGreaterThanOrEqual(expected.minRetryMs);
    }
  });

  it('keeps a longer Retry-After, and leaves the generic rules alone for other codes', () => {
    const pair = readFileSync(join(dir, '131056-pair-rate-limit.repaired.json'), 'utf8');
    expect(classify(400, pair, { 'retry-after': '30' }).retryAfterMs).toBe(30_000);
    for (const code of [190, 100, 131048, 131049, 2, 131000, 131016, 131026]) {
      const generic = classifyGraphError(400, { error: { code } });
      const refined = refineWhatsAppFailure(generic);
      const whatsappTransient = code === 131000 || code === 131016;
      expect(refined.kind).toBe(
        whatsappTransient || generic.kind === 'transient' ? 'transient' : 'permanent',
      );
    }
    expect(
      refineWhatsAppFailure(classifyGraphError(400, { error: { code: 131026 } })).recipientUnreachable,
    ).toBe(true);
  });
});
