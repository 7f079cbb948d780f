/**
 * The `*_PARAM` secret sources (lib/platform/config.ts resolveSecrets): SecureString parameters read through
 * Powertools Parameters (decrypted, cached). Its own module so that the send bundle, which reads no
 * secrets, does not carry the SSM client.
 */
import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import type { FetchParameter } from './config.ts';

export const fetchFromSsm: FetchParameter = async (name) =>
  (await getParameter(name, { decrypt: true })) ?? '';
