import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../../functions/sender.ts';
import { toQueueRecord } from '../../../functions/sqs-records.ts';
import type { GraphSendResult, SendActionRequest } from '../../../lib/meta/graph/client.ts';
import { STATE_TABLE_KEY } from '../../../lib/platform/ledger.ts';
import { decodeStep } from '../../../lib/queue/codec.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';

const T = 1767225600000; // the sample events' epoch (infra/events/fixture-sender-*.json)
const TOKEN = 'EAAsenderTestToken123456';
const sqsMock = mockClient(SQSClient);
const dynamoMock = mockClient(DynamoDBClient);
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };

const sampleEvent = (name: string): SQSEvent =>
  JSON.parse(
    readFileSync(join(import.meta.dirname, '..', '..', '..', 'infra', 'events', name), 'utf8'),
  ) as SQSEvent;

const env = {
  QUEUE_URL: 'http://127.0.0.1:1/000000000000/steps.fifo',
  DLQ_URL: 'http://127.0.0.1:1/000000000000/steps-dlq.fifo',
  META_APP_SECRET: 'sender-test-app-secret',
  META_PAGE_ACCESS_TOKEN: TOKEN,
};

const harness = (overrides: { now?: number } = {}) => {
  let now = overrides.now ?? T + 10;
  const calls: SendActionRequest[] = [];
  const telemetry = memoryTelemetry();
  const graph = {
    sendAction: async (request: SendActionRequest): Promise<GraphSendResult> => {
      calls.push(request);
      now += 50;
      return { ok: true, latencyMs: 50 };
    },
  };
  const deps = {
    graph,
    telemetry,
    sqs: new SQSClient({ region: 'us-east-1', credentials }),
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
  return { calls, telemetry, deps };
};

beforeEach(() => {
  sqsMock.reset();
  dynamoMock.reset();
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dlq' });
});

describe('sender handler', () => {
  it('processes the sample conversation batch: due steps sent, the later reply deferred with its follower', async () => {
    const { calls, telemetry, deps } = harness();
    const handler = makeHandler(env, deps);
    const event = sampleEvent('fixture-sender-conversation-batch.json');
    const response = await handler(event);
    // mark_seen, typing_on (700 ms into the sequence, waited inline), then the reply 2.4 s later: 2.35 s to go
    // → 2 whole seconds to SQS (the redelivery waits the rest); typing_off waits behind it
    expect(calls.map((c) => ('message' in c.action ? 'message' : c.action.sender_action))).toEqual([
      'mark_seen',
      'typing_on',
    ]);
    expect(response).toEqual({
      batchItemFailures: [
        { itemIdentifier: event.Records[2]?.messageId },
        { itemIdentifier: event.Records[3]?.messageId },
      ],
    });
    expect(
      sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input.VisibilityTimeout),
    ).toEqual([2, 2]);
    expect(telemetry.logs.some((l) => /STATE_TABLE_NAME/.test(l.message))).toBe(true);
  });

  it('copies the sample poison record to the DLQ and sends the step behind it', async () => {
    const { calls, deps } = harness();
    const response = await makeHandler(env, deps)(sampleEvent('fixture-sender-poison.json'));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.QueueUrl).toBe(env.DLQ_URL);
    expect(calls).toHaveLength(1);
  });

  it('maps a Lambda SQS record to a plain consumer record, naming the queue (shard) it came from', () => {
    const [first] = sampleEvent('fixture-sender-single-step.json').Records;
    if (!first) throw new Error('sample event has no record');
    const record = toQueueRecord(first);
    expect(record).toEqual({
      messageId: first.messageId,
      receiptHandle: first.receiptHandle,
      body: first.body,
      attributes: { ...first.attributes },
      sourceArn: first.eventSourceARN,
    });
    expect(record.sourceArn).toMatch(/^arn:aws:sqs:/);
    expect(decodeStep(record.body).ok).toBe(true);
  });

  it('uses the DynamoDB ledger when STATE_TABLE_NAME is set', async () => {
    dynamoMock.on(GetItemCommand).resolves({});
    const { calls, deps } = harness({ now: T + 5000 });
    const handler = makeHandler(
      { ...env, STATE_TABLE_NAME: 'state' },
      { ...deps, dynamo: new DynamoDBClient({ region: 'us-east-1', credentials }) },
    );
    const event = sampleEvent('fixture-sender-conversation-batch.json');
    await handler({ Records: event.Records.slice(3) });
    const keys = dynamoMock
      .commandCalls(GetItemCommand)
      .map((c) => c.args[0].input.Key?.[STATE_TABLE_KEY]?.S);
    // The user's hold first (lib/sender/user-hold.ts), then the sequence's abort record.
    expect(keys[0]).toMatch(/^user:/);
    expect(keys).toContainEqual(expect.stringMatching(/^abort:/));
    expect(calls).toHaveLength(1);
  });

  it('resolves secrets from SSM parameter names once, at the first invocation', async () => {
    const fetched: string[] = [];
    const { deps } = harness();
    const handler = makeHandler(
      {
        QUEUE_URL: env.QUEUE_URL,
        META_APP_SECRET_PARAM: '/e/app-secret',
        META_PAGE_ACCESS_TOKEN_PARAM: '/e/token',
      },
      {
        ...deps,
        fetchParameter: async (name) => {
          fetched.push(name);
          return `value-of-${name}`;
        },
      },
    );
    await handler(sampleEvent('fixture-sender-single-step.json'));
    await handler(sampleEvent('fixture-sender-single-step.json'));
    expect(fetched.sort()).toEqual(['/e/app-secret', '/e/token']);
  });

  it('fails a bad configuration with variable names only, and retries the cold start next time', async () => {
    const mutableEnv: Record<string, string | undefined> = {
      ...env,
      QUEUE_URL: undefined,
      GRAPH_TIMEOUT_MS: 'soon',
    };
    const { calls, deps } = harness();
    const handler = makeHandler(mutableEnv, deps);
    const failure = await handler(sampleEvent('fixture-sender-single-step.json')).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toMatch(/QUEUE_URL/);
    expect(message).toMatch(/GRAPH_TIMEOUT_MS/);
    expect(message).not.toContain(TOKEN);
    expect(message).not.toContain('soon');
    mutableEnv.QUEUE_URL = env.QUEUE_URL;
    mutableEnv.GRAPH_TIMEOUT_MS = '5000';
    expect(await handler(sampleEvent('fixture-sender-single-step.json'))).toEqual({ batchItemFailures: [] });
    expect(calls).toHaveLength(1);
  });

  it('answers an empty event with an empty partial batch response', async () => {
    const { telemetry, deps } = harness();
    expect(await makeHandler(env, deps)({ Records: [] })).toEqual({ batchItemFailures: [] });
    expect(metricTotal(telemetry.metrics, 'StepsSent')).toBe(0);
  });
});
