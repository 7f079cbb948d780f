/**
 * The state table on 127.0.0.1: dynalite (a DynamoDB implementation on npm, in memory) run in-process, with
 * the table created through the SDK as serverless.yml's StateTable declares it. `npm start` and the local
 * stack run the functions' DynamoDB path (event dedup, sent steps, aborts, replies in flight, LLM memory)
 * against it, so nothing local falls back to per-container memory.
 *
 * Differences from DynamoDB that matter here (test/integration/state-table-dynalite.test.ts checks the rest):
 * - no UpdateTimeToLive: expired items are never deleted; the code compares expiresAt itself anyway,
 *   because DynamoDB too deletes expired items only lazily (DynamoDB Developer Guide, "Time to Live");
 * - no encryption at rest, no on-demand throughput limits.
 */
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { STATE_TABLE_KEY, STATE_TABLE_TTL_ATTRIBUTE } from '../lib/platform/ledger.ts';
import { stateTableClient } from '../lib/platform/state-table.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './sqs.ts';

/** The local stage's table name (serverless.yml: `${self:service}-${sls:stage}-state`). */
export const LOCAL_STATE_TABLE_NAME = 'ellipsis-local-state';

/** serverless.yml StateTable's CreateTable part; its TimeToLiveSpecification names this attribute. */
export const stateTableDefinition = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [{ AttributeName: STATE_TABLE_KEY, AttributeType: 'S' }],
  KeySchema: [{ AttributeName: STATE_TABLE_KEY, KeyType: 'HASH' }],
  SSESpecification: { Enabled: true },
});
export const STATE_TABLE_TTL = { AttributeName: STATE_TABLE_TTL_ATTRIBUTE, Enabled: true } as const;

export type LocalDynamo = {
  endpoint: string;
  tableName: string;
  /** A client as the functions build theirs (lib/platform/state-table.ts stateTableClient), on this endpoint. */
  client: DynamoDBClient;
  /** What a function needs to find the table with an unconfigured client: endpoint and STATE_TABLE_NAME. */
  env: Record<string, string>;
  stop: () => Promise<void>;
};

type Dynalite = ReturnType<typeof dynalite>;

/** Closes the server, idle and busy connections included (a keep-alive socket would hold it open). */
const closeServer = (server: Dynalite): Promise<void> =>
  new Promise((resolve, reject) => {
    server.close((error?: Error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });

/** dynalite on 127.0.0.1 with no table yet; a taken port names the variable that moves it. */
export const listenDynalite = async (port = 0): Promise<{ endpoint: string; close: () => Promise<void> }> => {
  // createTableMs 0: the table is ACTIVE at the next DescribeTable instead of after dynalite's 500 ms.
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `local DynamoDB: port ${port} on 127.0.0.1 is already in use (set ELLIPSIS_DYNAMO_PORT)`,
            )
          : error,
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { endpoint, close: () => closeServer(server) };
};

/** An SDK client for this endpoint with the local dummy credentials. */
export const dynamoClientFor = (endpoint: string): DynamoDBClient =>
  new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

/** Creates the table and waits until it is ACTIVE (CreateTable answers CREATING, as DynamoDB does). */
export const createStateTable = async (
  client: Pick<DynamoDBClient, 'send'>,
  input: CreateTableCommandInput,
  limitMs = 10_000,
): Promise<void> => {
  await client.send(new CreateTableCommand(input));
  const end = Date.now() + limitMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > end) throw new Error(`local DynamoDB: ${input.TableName} not ACTIVE in ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

export const startLocalDynamo = async (
  options: { port?: number; tableName?: string } = {},
): Promise<LocalDynamo> => {
  const { endpoint, close } = await listenDynalite(options.port ?? 0);
  const tableName = options.tableName ?? LOCAL_STATE_TABLE_NAME;
  const admin = dynamoClientFor(endpoint);
  const client = stateTableClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const stop = async () => {
    admin.destroy();
    client.destroy();
    await close();
  };
  try {
    await createStateTable(admin, stateTableDefinition(tableName));
  } catch (error) {
    await stop();
    throw error;
  }
  const env = { AWS_ENDPOINT_URL_DYNAMODB: endpoint, STATE_TABLE_NAME: tableName };
  return { endpoint, tableName, client, env, stop };
};
