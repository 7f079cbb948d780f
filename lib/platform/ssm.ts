/**
 * The `*_PARAM` secret sources (lib/platform/config.ts resolveSecrets): SecureString parameters read through
 * Powertools Parameters (decrypted, cached). The SSM client is loaded on the first read, so a function whose
 * secrets are given as values (local stack, tests) never loads it, and the send function, which passes no
 * reader to lib/platform/runtime.ts, does not bundle it.
 */
import type { FetchParameter } from './config.ts';

export const fetchFromSsm: FetchParameter = async (name) =>
  (await import('./ssm-client.ts')).readSecureString(name);
