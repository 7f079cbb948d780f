import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStep, encodeStep, groupIdOf, type QueuedStep } from '../../../lib/queue/codec.ts';

const base: QueuedStep = {
  v: 1,
  pageId: '1234567890',
  psid: '9876543210',
  sequenceId: 'm_abc',
  index: 2,
  count: 3,
  delayMs: 1500,
  plannedAt: 1_700_000_000_000,
  dueAt: 1_700_000_001_500,
  action: { message: { text: 'Hello 👋 你好 — ok' } },
};

describe('queue codec', () => {
  it('round-trips a message step with emoji and CJK as ASCII-only JSON', () => {
    const body = encodeStep(base);
    expect(body).toMatch(/^[\x20-\x7e]*$/);
    expect(decodeStep(body)).toEqual({ ok: true, step: base });
  });

  it('round-trips any Unicode text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), (text) => {
        const step = { ...base, action: { message: { text } } };
        const body = encodeStep(step);
        expect(body).toMatch(/^[\x20-\x7e]*$/);
        expect(decodeStep(body)).toEqual({ ok: true, step });
      }),
    );
  });

  it('reports a poison body instead of throwing', () => {
    expect(decodeStep('not json')).toEqual({ ok: false, reason: 'body is not JSON' });
    const wrongVersion = decodeStep(JSON.stringify({ ...base, v: 2 }));
    expect(wrongVersion.ok).toBe(false);
    const mixed = decodeStep(
      JSON.stringify({ ...base, action: { sender_action: 'typing_on', message: { text: 'x' } } }),
    );
    expect(mixed.ok).toBe(false);
    const outOfRange = decodeStep(JSON.stringify({ ...base, index: 3 }));
    expect(outOfRange).toEqual({ ok: false, reason: 'index must be below count' });
  });

  it('never throws on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (body) => {
        const r = decodeStep(body);
        expect(typeof r.ok).toBe('boolean');
      }),
    );
  });

  it('refuses to encode an invalid step', () => {
    expect(() => encodeStep({ ...base, delayMs: -1 })).toThrow();
  });

  it('scopes the FIFO group by page and user', () => {
    expect(groupIdOf('p1', 'u1')).toBe('p1:u1');
  });
});
