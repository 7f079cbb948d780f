import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
export const readSecureString = async (name: string): Promise<string> =>
  (await getParameter(name, { decrypt: true })) ?? '';
