import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactor, redactValue } from '../../../lib/platform/redaction.ts';

describe('redaction', () => {
  const token = 'EAAGm0PX4ZCpsBAExampleToken';
  const redact = redactor([token, 'short']);

  it('redacts known secrets and token-bearing query parameters', () => {
    expect(redact(`failed with ${token}`)).toBe('failed with [redacted]');
    expect(redact('https://graph/x?access_token=abc123&appsecret_proof=ff00')).toBe(
      'https://graph/x?access_token=[redacted]&appsecret_proof=[redacted]',
    );
  });

  it('redacts a cut piece of a secret that an upstream message echoed, but not ordinary long words', () => {
    expect(redact(`bad token (${token.slice(0, 14)}…) in request`)).toBe(
      'bad token ([redacted]…) in request',
    );
    expect(redact('internationalization-considerations')).toBe('internationalization-considerations');
  });

  it('leaves secrets shorter than 6 characters alone rather than shredding ordinary words', () => {
    expect(redact('a short note')).toBe('a short note');
  });

  it('redacts deeply and reduces errors to name and message', () => {
    const value = redactValue({ a: [{ b: token }], e: new TypeError(`bad ${token}`) }, redact);
    expect(JSON.stringify(value)).not.toContain(token);
    expect(value).toEqual({ a: [{ b: '[redacted]' }], e: { name: 'TypeError', message: 'bad [redacted]' } });
  });

  it('never lets a secret through whatever text surrounds it (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, after) => {
        expect(redact(before + token + after)).not.toContain(token);
      }),
    );
  });
});
