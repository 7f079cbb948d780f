/**
 * The four zips `npm run package` writes, run as the nodejs24.x runtime runs them: unzipped (read-only),
 * the module named by the template's `Handler` imported in a fresh process per container, with the
 * template's environment for that function, as `nobody` when we are root — against fauxqs (SQS), dynalite
 * (the state table, created from serverless.yml), a wire-level SSM GetParameter stub and the local Graph
 * fake. The only variable changed is the sender's GRAPH_API_URL (graph.facebook.com → the fake).
 *
 * Needs .serverless/ (`npm run package`; CI runs it before the tests). Missing, it is skipped with the
 * reason; under CI=true missing artefacts fail.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { packageDir, templatePath } from '../../infra/package.ts';
import { STATE_TABLE_KEY } from '../../lib/platform/ledger.ts';
import { type EventSourceMapping, pipelineIdle, startEventSourceMapping } from '../../local/esm.ts';
import { type GraphFake, startGraphFake } from '../../local/graph-fake.ts';
import { apiGatewayEvent } from '../../local/http.ts';
import { postEvent, signatureOf, webhookBody } from '../../local/meta.ts';
import {
  createResponderQueues,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalSqs,
  startLocalSqs,
} from '../../local/sqs.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';
import {
  type Container,
  containerPool,
  type PackagedFunction,
  startContainer,
} from '../support/lambda-containers.ts';
import { type SsmStub, startSsmStub } from '../support/ssm-stub.ts';
import { extractZip } from '../support/unzip.ts';
import { until } from '../support/wait.ts';

const FUNCTIONS = {
  webhook: 'WebhookLambdaFunction',
  sender: 'SenderLambdaFunction',
  responder: 'ResponderLambdaFunction',
  send: 'SendLambdaFunction',
} as const;
type FunctionName = keyof typeof FUNCTIONS;

const artefacts = [...Object.keys(FUNCTIONS).map((f) => join(packageDir, `${f}.zip`)), templatePath];
const missing = artefacts.filter((path) => !existsSync(path));

type Json = unknown;
type Template = {
  Resources: Record<string, { Type: string; Properties: Record<string, Json> }>;
  Conditions?: Record<string, Json>;
  Parameters?: Record<string, { Default?: Json }>;
};
const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A function's environment value as CloudFormation resolves it with the stack's default parameters: Refs to
 * parameters and to the resources we stand in for, Fn::If on the template's conditions, Fn::Join (the queue
 * shard lists, infra/queues.cjs). Anything else fails,
 * so a new intrinsic in an environment is noticed here rather than silently passed through.
 */
const resolver = (template: Template, resources: Record<string, string>) => {
  const value = (v: Json): string => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (isObject(v) && typeof v.Ref === 'string') {
      if (v.Ref in resources) return resources[v.Ref] ?? '';
      const parameter = template.Parameters?.[v.Ref];
      if (parameter) return String(parameter.Default ?? '');
    }
    if (isObject(v) && Array.isArray(v['Fn::If'])) {
      const [condition, then, otherwise] = v['Fn::If'] as [string, Json, Json];
      return value(holds(template.Conditions?.[condition]) ? then : otherwise);
    }
    if (isObject(v) && Array.isArray(v['Fn::Join'])) {
      const [separator, parts] = v['Fn::Join'] as [string, Json[]];
      return parts.map(value).join(separator);
    }
    throw new Error(`unsupported intrinsic in a function environment: ${JSON.stringify(v)}`);
  };
  const holds = (c: Json): boolean => {
    if (isObject(c) && Array.isArray(c['Fn::Not'])) return !holds(c['Fn::Not'][0]);
    if (isObject(c) && Array.isArray(c['Fn::Equals']))
      return value(c['Fn::Equals'][0]) === value(c['Fn::Equals'][1]);
    if (isObject(c) && typeof c.Condition === 'string') return holds(template.Conditions?.[c.Condition]);
    throw new Error(`unsupported condition: ${JSON.stringify(c)}`);
  };
  return value;
};

/** Read-only as /var/task: files r--, folders r-x (readable by nobody). */
const makeReadOnly = (path: string): void => {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path)) makeReadOnly(join(path, entry));
    chmodSync(path, 0o555);
  } else chmodSync(path, 0o444);
};
const makeWritable = (path: string): void => {
  chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) makeWritable(join(path, entry));
};

const queueDepth = async (client: SQSClient, queueUrl: string): Promise<number> => {
  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return Object.values(Attributes).reduce((sum, n) => sum + Number(n), 0);
};

if (missing.length > 0 && process.env.CI === 'true') {
  test('the packaged artefacts exist (CI runs npm run package before npm test)', () => {
    expect.fail(`missing under CI=true: ${missing.join(', ')}`);
  });
}

const title =
  missing.length > 0
    ? `packaged zips — skipped: ${missing.map((p) => p.slice(packageDir.length + 1)).join(', ')} missing (run npm run package)`
    : 'the packaged zips, run as Lambda runs them';

describe.skipIf(missing.length > 0)(title, () => {
  const secrets = new Map<string, string>();
  let template: Template;
  let root: string;
  let sqs: LocalSqs;
  let responderQueue: { url: string; arn: string; dlqUrl: string };
  let dynamo: TestDynamo;
  let ssm: SsmStub;
  let graph: GraphFake;
  let functions: Record<FunctionName, PackagedFunction>;
  let aws: Record<string, string>;
  const stops: (() => Promise<void>)[] = [];

  /** The plaintext behind a `*_PARAM` variable of a function (served by the SSM stub). */
  const secret = (fn: FunctionName, variable: string): string =>
    secrets.get(functions[fn].variables[variable] ?? '') ?? '';

  const unpack = (fn: FunctionName, resolve: (v: Json) => string): PackagedFunction => {
    const props = template.Resources[FUNCTIONS[fn]]?.Properties ?? {};
    const taskRoot = join(root, fn);
    extractZip(readFileSync(join(packageDir, `${fn}.zip`)), taskRoot);
    const raw = ((props.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ??
      {}) as Record<string, Json>;
    const variables = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, resolve(v)]));
    return {
      name: fn,
      taskRoot,
      handler: String(props.Handler),
      variables,
      timeoutSeconds: Number(props.Timeout),
      memoryMb: Number(props.MemorySize),
    };
  };

  beforeAll(async () => {
    template = JSON.parse(readFileSync(templatePath, 'utf8')) as Template;
    const nameOf = (id: string) => String(template.Resources[id]?.Properties.QueueName ?? '');
    sqs = await startLocalSqs({ queueName: nameOf('StepsQueue'), dlqName: nameOf('StepsDeadLetterQueue') });
    stops.push(sqs.stop);
    responderQueue = await createResponderQueues(sqs.client);
    dynamo = await startTestDynamo(String(template.Resources.StateTable?.Properties.TableName));
    stops.push(dynamo.stop);
    root = mkdtempSync(join(tmpdir(), 'ellipsis-zips-'));
    const resolve = resolver(template, {
      StepsQueue: sqs.queueUrl,
      StepsDeadLetterQueue: sqs.dlqUrl,
      ResponderQueue: responderQueue.url,
      ResponderDeadLetterQueue: responderQueue.dlqUrl,
      StateTable: dynamo.tableName,
    });
    functions = {
      webhook: unpack('webhook', resolve),
      sender: unpack('sender', resolve),
      responder: unpack('responder', resolve),
      send: unpack('send', resolve),
    };
    makeReadOnly(root);
    for (const fn of Object.values(functions))
      for (const [name, value] of Object.entries(fn.variables))
        if (name.endsWith('_PARAM') && value !== '')
          secrets.set(value, `${name.toLowerCase()}-${fn.name}-7d1e`);
    ssm = await startSsmStub(Object.fromEntries(secrets));
    stops.push(ssm.stop);
    graph = await startGraphFake({
      appSecret: secret('sender', 'META_APP_SECRET_PARAM'),
      accessToken: secret('sender', 'META_PAGE_ACCESS_TOKEN_PARAM'),
    });
    stops.push(graph.stop);
    // The deployed sender calls graph.facebook.com; here, the fake (the one variable changed).
    functions.sender.variables.GRAPH_API_URL = graph.url;
    aws = {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      ...ssm.env,
    };
  }, 60_000);

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    if (root) {
      makeWritable(root);
      rmSync(root, { recursive: true, force: true });
    }
  });

  const container = async (fn: FunctionName): Promise<Container> => {
    const started = await startContainer(functions[fn], aws);
    stops.push(started.stop);
    return started;
  };

  const PSID = '7700000000000000042';
  const PAGE = '104729348572910';
  const body = webhookBody({
    pageId: PAGE,
    psid: PSID,
    timestamp: Date.now(),
    mid: 'm_packaged_1',
    text: 'hi',
  });
  const signedPost = () =>
    postEvent(body, { 'x-hub-signature-256': signatureOf(body, secret('webhook', 'META_APP_SECRET_PARAM')) });

  test('the template runs them as nodejs24.x on this Node 24', () => {
    for (const id of Object.values(FUNCTIONS))
      expect(template.Resources[id]?.Properties.Runtime).toBe('nodejs24.x');
    expect(process.versions.node.split('.')[0]).toBe('24');
  });

  test('webhook: verify answered; a signed POST enqueues prelude and event; a fresh container drops its re-delivery', async () => {
    const first = await container('webhook');
    const verify = apiGatewayEvent(
      {
        method: 'GET',
        url: `/webhook?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(secret('webhook', 'META_VERIFY_TOKEN_PARAM'))}&hub.challenge=31337`,
        headers: {},
        body: new Uint8Array(),
        sourceIp: '173.252.127.1',
        protocol: 'HTTP/1.1',
      },
      'GET /webhook',
      Date.now(),
    );
    expect(await first.invoke(verify)).toMatchObject({ statusCode: 200, body: '31337' });
    expect(await first.invoke(signedPost())).toMatchObject({ statusCode: 200 });
    expect(await queueDepth(sqs.client, sqs.queueUrl)).toBeGreaterThan(0);
    expect(await queueDepth(sqs.client, responderQueue.url)).toBe(1);
    const second = await container('webhook');
    expect(await second.invoke(signedPost())).toMatchObject({ statusCode: 200 });
    // Dropped by the `event:` record, not by SQS's 5-minute deduplication (which would also hide it).
    expect(second.output()).toMatch(/"message":"webhook processed"[^\n]*"enqueued":0[^\n]*"duplicates":1/);
    expect(first.output()).toMatch(/"message":"webhook processed"[^\n]*"enqueued":1[^\n]*"duplicates":0/);
    const stored = await dynamo.admin.send(new ScanCommand({ TableName: dynamo.tableName }));
    expect(stored.Items?.map((i) => i[STATE_TABLE_KEY]?.S)).toContain(
      `event:${JSON.stringify([PAGE, 'm_packaged_1'])}`,
    );
  }, 60_000);

  const mappings: EventSourceMapping[] = [];
  const startMapping = (fn: 'sender' | 'responder', queue: { url: string; arn: string }) => {
    const mapping = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Lambda::EventSourceMapping' &&
        JSON.stringify(r.Properties.FunctionName).includes(FUNCTIONS[fn]),
    );
    const pool = containerPool(functions[fn], aws);
    stops.push(pool.stop);
    const esm = startEventSourceMapping({
      client: sqs.client,
      queueUrl: queue.url,
      queueArn: queue.arn,
      region: LOCAL_REGION,
      handler: (event: SQSEvent) => pool.invoke(event),
      batchSize: Number(mapping?.Properties.BatchSize),
      // The template's 300–400 would be as many processes on a 2-core machine: two containers each.
      maxConcurrency: 2,
      functionTimeoutMs: functions[fn].timeoutSeconds * 1000,
      functionName: fn,
    });
    stops.push(esm.stop);
    mappings.push(esm);
  };
  /** The two SQS → Lambda hops of the template, started once (after the webhook test looked at the queues). */
  const ensureMappings = () => {
    if (mappings.length > 0) return;
    startMapping('responder', responderQueue);
    startMapping('sender', { url: sqs.queueUrl, arn: sqs.queueArn });
  };

  test('responder and sender zips deliver the reply to Graph: seen, typing, the answer', async () => {
    ensureMappings();
    await until(() => graph.callsFor(PSID).some((c) => c.kind === 'message'), 90_000, 'the reply at Graph');
    await until(() => pipelineIdle(mappings), 60_000, 'pipeline idle');
    const calls = graph.calls.filter((c) => c.psid === PSID);
    expect(calls.every((c) => c.status === 200)).toBe(true);
    const kinds = calls.map((c) => c.kind);
    expect(kinds[0]).toBe('mark_seen');
    expect(kinds).toContain('typing_on');
    expect(kinds.at(-1)).toBe('message');
    expect(await queueDepth(sqs.client, sqs.dlqUrl)).toBe(0);
    expect(await queueDepth(sqs.client, responderQueue.dlqUrl)).toBe(0);
  }, 180_000);

  test("send zip: the console's saved greeting is validated, enqueued and delivered", async () => {
    const greeting = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'infra', 'events', 'send-greeting.json'), 'utf8'),
    ) as {
      psid: string;
      replies: { message: { text: string } }[];
    };
    ensureMappings();
    const send = await container('send');
    expect(await send.invoke(greeting)).toMatchObject({ ok: true });
    const text = greeting.replies[0]?.message.text;
    await until(
      () =>
        graph
          .callsFor(greeting.psid)
          .some((c) => JSON.stringify(c.action).includes(JSON.stringify(text).slice(1, -1))),
      90_000,
      'the greeting at Graph',
    );
    await until(() => pipelineIdle(mappings), 60_000, 'pipeline idle');
    expect(graph.calls.filter((c) => c.psid === greeting.psid).every((c) => c.status === 200)).toBe(true);
  }, 180_000);
});
