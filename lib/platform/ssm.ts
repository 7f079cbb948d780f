import type { FetchParameter } from './config.ts';
export const fetchFromSsm: FetchParameter = async (name) =>
  (await import('./ssm-client.ts')).readSecureString(name);
