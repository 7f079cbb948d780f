/**
 * The state table for tests, on dynalite (a DynamoDB implementation, in memory) and created from what
 * serverless.yml declares, so a change to StateTable there reaches every test that uses this. Also records
 * what the SDK put on the wire, for the checks only a request can show (ConsistentRead).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { stateTableClient } from '../../lib/platform/state-table.ts';
import * as z from '../../lib/platform/zod.ts';
import { createStateTable, dynamoClientFor, listenDynalite } from '../../local/dynamo.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/sqs.ts';

const repoRoot = join(import.meta.dirname, '..', '..');

const stateTableSchema = z.object({
  Type: z.literal('AWS::DynamoDB::Table'),
  Properties: z.object({
    BillingMode: z.enum(['PAY_PER_REQUEST', 'PROVISIONED']),
    AttributeDefinitions: z.array(
      z.object({ AttributeName: z.string(), AttributeType: z.enum(['S', 'N', 'B']) }),
    ),
    KeySchema: z.array(z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) })),
    TimeToLiveSpecification: z.object({ AttributeName: z.string(), Enabled: z.boolean() }),
    SSESpecification: z.object({ SSEEnabled: z.boolean() }),
  }),
});
export type DeclaredStateTable = z.infer<typeof stateTableSchema>['Properties'];

/** `${self:a.b}` references resolved against the parsed serverless.yml (the only kind StateTable uses). */
const resolveSelf = (value: unknown, root: unknown): unknown => {
  if (typeof value === 'string')
    return value.replace(/\$\{self:([\w.]+)\}/g, (whole, path: string) => {
      const found = path
        .split('.')
        .reduce<unknown>((at, key) => (at as Record<string, unknown>)?.[key], root);
      return typeof found === 'string' ? found : whole;
    });
  if (Array.isArray(value)) return value.map((v) => resolveSelf(v, root));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveSelf(v, root)]));
  return value;
};

/** serverless.yml's StateTable properties, read with osls's own YAML parser (CloudFormation tags included). */
export const declaredStateTable = (): DeclaredStateTable => {
  const parse = createRequire(import.meta.url)('osls/lib/utils/fs/parse.js') as (
    path: string,
    contents: string,
  ) => unknown;
  const path = join(repoRoot, 'serverless.yml');
  const config = parse(path, readFileSync(path, 'utf8')) as { resources?: unknown[] };
  const holder = (config.resources ?? []).find(
    (r): r is { Resources: { StateTable: unknown } } =>
      typeof r === 'object' &&
      r !== null &&
      'Resources' in r &&
      'StateTable' in (r as { Resources: object }).Resources,
  );
  return stateTableSchema.parse(resolveSelf(holder?.Resources.StateTable, config)).Properties;
};

/** The CreateTable call CloudFormation makes for those properties (TTL is a separate UpdateTimeToLive). */
export const createTableInput = (
  declared: DeclaredStateTable,
  tableName: string,
): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: declared.BillingMode,
  AttributeDefinitions: declared.AttributeDefinitions,
  KeySchema: declared.KeySchema,
  SSESpecification: { Enabled: declared.SSESpecification.SSEEnabled },
});

export type TestDynamo = {
  endpoint: string;
  tableName: string;
  /** An admin client (raw GetItem / PutItem / Scan). */
  admin: DynamoDBClient;
  /** A new client as each function container builds its own (lib/platform/state-table.ts stateTableClient). */
  containerClient: () => DynamoDBClient;
  stop: () => Promise<void>;
};

/** dynalite on 127.0.0.1 with the state table created as serverless.yml declares it. */
export const startTestDynamo = async (tableName = 'ellipsis-test-state'): Promise<TestDynamo> => {
  const { endpoint, close } = await listenDynalite();
  const admin = dynamoClientFor(endpoint);
  const clients: DynamoDBClient[] = [admin];
  const stop = async () => {
    for (const c of clients) c.destroy();
    await close();
  };
  try {
    await createStateTable(admin, createTableInput(declaredStateTable(), tableName));
  } catch (error) {
    await stop();
    throw error;
  }
  const containerClient = () => {
    const client = stateTableClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    clients.push(client);
    return client;
  };
  return { endpoint, tableName, admin, containerClient, stop };
};

/** The JSON bodies of every request `client` sends from now on, with the operation (X-Amz-Target). */
export const recordRequests = (client: DynamoDBClient): { target: string; body: unknown }[] => {
  const seen: { target: string; body: unknown }[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const target = request.headers?.['x-amz-target'] ?? '';
      const raw =
        request.body instanceof Uint8Array ? Buffer.from(request.body).toString('utf8') : request.body;
      seen.push({ target, body: typeof raw === 'string' ? JSON.parse(raw) : undefined });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordRequests' },
  );
  return seen;
};
