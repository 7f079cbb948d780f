import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { provablyNotSent } from '../../../lib/delivery/network-errors.ts';

const withCode = (code: string, wrapped = false) => {
  const error = Object.assign(new Error('x'), { code });
  return wrapped ? Object.assign(new TypeError('fetch failed'), { cause: error }) : error;
};

describe('provablyNotSent', () => {
  it('is true only for failures before the request left: refused, DNS, unreachable, connect timeout, TLS', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT'])
      expect(provablyNotSent(withCode(code), false), code).toBe(true);
    for (const code of [
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'CERT_HAS_EXPIRED',
    ])
      expect(provablyNotSent(withCode(code), false), code).toBe(true);
    expect(provablyNotSent(withCode('ECONNREFUSED', true), false)).toBe(true);
  });

  it('is false once the request may have been written: reset, closed socket, answer timeouts', () => {
    for (const code of [
      'ECONNRESET',
      'EPIPE',
      'UND_ERR_SOCKET',
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
    ])
      expect(provablyNotSent(withCode(code), false), code).toBe(false);
    expect(provablyNotSent(new Error('no code'), false)).toBe(false);
    expect(provablyNotSent('a string', false)).toBe(false);
  });

  it('is false whenever our own deadline fired, whatever the error says (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.boolean(), (code, wrapped) => {
        expect(provablyNotSent(withCode(code, wrapped), true)).toBe(false);
      }),
    );
  });
});
