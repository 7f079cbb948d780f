/** Values the local stack and the chat CLI agree on. None of them is a real secret: they only work locally. */

export const LOCAL_SECRETS = {
  META_APP_SECRET: 'local-app-secret',
  META_VERIFY_TOKEN: 'local-verify-token',
  META_PAGE_ACCESS_TOKEN: 'local-page-access-token',
} as const;

export const LOCAL_PAGE_ID = '100000000000001';

/**
 * Fixed default ports (override: ELLIPSIS_PORT, ELLIPSIS_SQS_PORT, ELLIPSIS_GRAPH_PORT, ELLIPSIS_DYNAMO_PORT).
 * 8000 is DynamoDB Local's default, so tools pointed at a local DynamoDB find the state table there.
 */
export const DEFAULT_PORTS = { http: 3000, sqs: 9324, graph: 3001, dynamo: 8000 } as const;

/** Reads a port variable: unset → fallback; anything but an integer 0–65535 is an error naming the variable. */
export const portFrom = (
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`${name} must be a port number (0-65535)`);
  return port;
};
