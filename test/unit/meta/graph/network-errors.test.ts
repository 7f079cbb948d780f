import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { provablyNotSent } from '../../../../lib/meta/graph/network-errors.ts';

const withCode = (code: string) => Object.assign(new Error('x'), { code });
const beforeConnecting = (error: unknown) => provablyNotSent({ error, connected: false, timedOut: false });

describe('provablyNotSent', () => {
  it('is true for failures raised before a connection existed: refused, DNS, unreachable, TLS', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
      expect(beforeConnecting(withCode(code)), code).toBe(true);
    for (const code of [
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'CERT_HAS_EXPIRED',
      'EPROTO',
    ])
      expect(beforeConnecting(withCode(code)), code).toBe(true);
  });

  it('is true when our deadline fired before any socket was ready (connect, TLS handshake, no free socket)', () => {
    const aborted = Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
    expect(provablyNotSent({ error: aborted, connected: false, timedOut: true })).toBe(true);
  });

  it('is false for a failure that does not say it came before connecting: reset, hang-up, no code', () => {
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT'])
      expect(beforeConnecting(withCode(code)), code).toBe(false);
    expect(beforeConnecting(new Error('socket hang up'))).toBe(false);
    expect(beforeConnecting('a string')).toBe(false);
  });

  it('is false once a socket was ready, whatever the error says or whether our deadline fired (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom('ECONNREFUSED', 'EPROTO', 'ERR_TLS_CERT_ALTNAME_INVALID'), fc.string()),
        fc.boolean(),
        (code, timedOut) => {
          expect(provablyNotSent({ error: withCode(code), connected: true, timedOut })).toBe(false);
        },
      ),
    );
  });
});
