import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appSecretProof } from '../../../lib/meta/graph/app-secret-proof.ts';
import { safeEqual, verifySignature } from '../../../lib/webhook/signature.ts';
import { corpusDir } from '../../support/corpus.ts';
import { appSecretProofOf, hubSignature } from '../../support/signing.ts';

const secret = 'test-app-secret-0123456789';
const sign = (body: Uint8Array | string, key = secret) => hubSignature(body, key);
const bytes = (s: string) => new TextEncoder().encode(s);

// This test reads only webhooks/ (not index.json), so it runs whenever that folder is there.
const hasCorpus = existsSync(join(corpusDir, 'webhooks'));

describe('verifySignature', () => {
  const body = bytes('{"object":"page","entry":[]}');

  it('accepts the HMAC-SHA256 of the exact body under the app secret', () => {
    expect(verifySignature(body, sign(body), secret)).toBe(true);
  });

  it('rejects a tampered body, a wrong secret and an empty secret', () => {
    const tampered = bytes('{"object":"page","entry":[ ]}');
    expect(verifySignature(tampered, sign(body), secret)).toBe(false);
    expect(verifySignature(body, sign(body, 'other-secret'), secret)).toBe(false);
    expect(verifySignature(body, sign(body, ''), '')).toBe(false);
  });

  it('rejects a missing header, the legacy sha1 form and malformed hex or length', () => {
    const sha1 = hubSignature(body, secret, 'sha1');
    const good = sign(body);
    for (const header of [
      undefined,
      '',
      'sha256=',
      sha1,
      good.slice(0, -2),
      `${good}00`,
      good.replace(/.$/, 'g'),
    ]) {
      expect(verifySignature(body, header, secret)).toBe(false);
    }
  });

  /** The signature's hex with one digit changed to another hex digit: still well-formed, no longer equal. */
  const withDigitChanged = (header: string, at: number) => {
    const hex = header.slice('sha256='.length);
    const digit = (Number.parseInt(hex[at] ?? '0', 16) ^ 1).toString(16);
    return `sha256=${hex.slice(0, at)}${digit}${hex.slice(at + 1)}`;
  };

  it.each([
    ['start', 0],
    ['middle', 32],
    ['end', 63],
  ])('rejects a correct signature with one hex digit changed at the %s', (_where, at) => {
    const good = sign(body);
    const forged = withDigitChanged(good, at);
    expect(forged).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(forged).not.toBe(good);
    expect(verifySignature(body, forged, secret)).toBe(false);
  });

  it('rejects well-formed hex of the wrong length, even when it starts with the correct signature', () => {
    const hex = sign(body).slice('sha256='.length);
    for (const wrongLength of [hex.slice(0, 32), hex.slice(0, 62), `${hex}00`, `${hex}${hex}`]) {
      expect(wrongLength).toMatch(/^[0-9a-f]+$/);
      expect(verifySignature(body, `sha256=${wrongLength}`, secret)).toBe(false);
    }
  });

  it('accepts an upper-case prefix, upper-case hex and surrounding spaces', () => {
    const good = sign(body);
    expect(verifySignature(body, `SHA256=${good.slice(7).toUpperCase()}`, secret)).toBe(true);
    expect(verifySignature(body, ` ${good} `, secret)).toBe(true);
  });

  it('signs bytes, not text: escaped and raw unicode are different bodies', () => {
    const escaped = bytes('{"text":"\\u00e4\\u00f6\\u00e5 \\/"}');
    const raw = bytes('{"text":"äöå /"}');
    expect(verifySignature(escaped, sign(escaped), secret)).toBe(true);
    expect(verifySignature(raw, sign(escaped), secret)).toBe(false);
    expect(verifySignature(raw, sign(raw), secret)).toBe(true);
  });

  it('verifies a body that arrived base64-encoded once decoded to its bytes', () => {
    const original = bytes('{"object":"page","entry":[{"id":"1","messaging":[]}]} 👋');
    const decoded = Buffer.from(Buffer.from(original).toString('base64'), 'base64');
    expect(verifySignature(decoded, sign(original), secret)).toBe(true);
  });

  it('accepts exactly the matching signature for any body and secret (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.string({ minLength: 1 }),
        fc.string(),
        (b, key, junk) => {
          expect(verifySignature(b, sign(b, key), key)).toBe(true);
          const forged = `sha256=${createHash('sha256').update(junk).digest('hex')}`;
          expect(verifySignature(b, forged, key)).toBe(false);
          expect(verifySignature(b, junk, key)).toBe(false);
        },
      ),
    );
  });

  it.skipIf(!hasCorpus)('matches the known-answer vectors of the corpus README', () => {
    const vectors = [
      {
        file: 'signed-text-34wrr3wr.json',
        secret: '60efff025951cddde78c8d03de52cc90',
        sha256: 'sha256=2c28be6e4b8c62b732b3487f445dbec6624868db6844b347567ebc86d7da3ad4',
        sha1: 'sha1=3daa41999293ff66c3eb313e04bcf77861bb0276',
      },
      {
        file: 'signed-text-fr.json',
        secret: '0a81080421baa2e1336000bd60662b7b',
        sha256: 'sha256=7147d895cd35404f4bd3304b1a9b8aaa5126b838553fa715509d7412b950db74',
        sha1: 'sha1=360ce018c33f3f338b4420991486442795f63802',
      },
    ];
    for (const v of vectors) {
      const body = readFileSync(join(corpusDir, 'webhooks', v.file));
      expect(verifySignature(body, v.sha256, v.secret)).toBe(true);
      expect(verifySignature(body, v.sha1, v.secret)).toBe(false);
      expect(verifySignature(body, v.sha256, `${v.secret}x`)).toBe(false);
    }
  });
});

describe('appSecretProof', () => {
  it('is the hex HMAC-SHA256 of the token keyed by the app secret', () => {
    expect(appSecretProof('page-token', 'app-secret')).toBe(appSecretProofOf('page-token', 'app-secret'));
    expect(appSecretProof('page-token', 'app-secret')).toMatch(/^[0-9a-f]{64}$/);
    expect(appSecretProof('page-token', 'other')).not.toBe(appSecretProof('page-token', 'app-secret'));
  });
});

describe('safeEqual', () => {
  it('is string equality, also for different lengths and unicode (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(safeEqual(a, b)).toBe(a === b);
        expect(safeEqual(a, a)).toBe(true);
      }),
    );
    expect(safeEqual('token', 'token ')).toBe(false);
  });
});
