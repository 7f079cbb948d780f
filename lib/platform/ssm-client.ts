/** The SSM side of lib/platform/ssm.ts, imported on first use (its own chunk in the bundle). */
import { getParameter } from '@aws-lambda-powertools/parameters/ssm';

export const readSecureString = async (name: string): Promise<string> =>
  (await getParameter(name, { decrypt: true })) ?? '';
