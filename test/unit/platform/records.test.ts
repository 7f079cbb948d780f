import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asRecord, isRecord } from '../../../lib/platform/records.ts';

describe('isRecord / asRecord', () => {
  it('accept plain objects only: not arrays, null or primitives', () => {
    expect(isRecord({ a: 1 })).toBe(true);
    expect(isRecord(Object.create(null))).toBe(true);
    for (const v of [null, undefined, [], [1], 'x', 1, true]) expect(isRecord(v)).toBe(false);
  });

  it('agree with each other on any JSON value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(asRecord(v) !== undefined).toBe(isRecord(v));
        if (isRecord(v)) expect(asRecord(v)).toBe(v);
      }),
    );
  });
});
