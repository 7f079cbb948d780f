/**
 * A real SQS API on 127.0.0.1: fauxqs (an SQS emulator speaking the AWS JSON protocol) run in-process,
 * with the FIFO step queue and its FIFO DLQ created through the SDK exactly as configured in AWS.
 *
 * Two adjustments, both outside the app's code:
 * - fauxqs's `startFauxqs` listens on 0.0.0.0; we build the app and listen on 127.0.0.1 ourselves.
 * - fauxqs hands out queue URLs as `http://sqs.<region>.localhost:<port>/…`, which the SDK then uses as
 *   its endpoint (queueUrlMiddleware) but which does not resolve here. With its store's `host` empty,
 *   fauxqs builds queue URLs from the request's Host header instead: `http://127.0.0.1:<port>/…`.
 *
 * Checked against SQS FIFO in test/local-sqs.test.ts: group ordering and locking, dedup ids, visibility and
 * ChangeMessageVisibility (incl. 0 and MessageNotInflight), redrive to the DLQ after maxReceiveCount, and the
 * system attributes Lambda passes on. Known gaps (none matters with the sender's batch size 1):
 * - a receive returns at most one message per group (AWS may return several of a group, in order);
 * - deduplication is queue-wide, not per group as DeduplicationScope messageGroup would make it;
 * - a long poll aborted by the client still completes server-side and may take a message, which then stays
 *   invisible for the visibility timeout (only at shutdown here);
 * - FifoThroughputLimit and throughput quotas are not enforced; visibility is checked every ~20 ms.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import {
  dlqAttributes,
  RESPONDER_DLQ_NAME,
  RESPONDER_QUEUE_NAME,
  responderQueueAttributes,
  STEP_DLQ_NAME,
  STEP_QUEUE_NAME,
  type StepQueueOptions,
  stepQueueAttributes,
} from './queue-attributes.ts';

export const LOCAL_REGION = 'us-east-1';
/** Dummy credentials: fauxqs accepts any, and the SDK insists on having some. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export type LocalSqs = {
  endpoint: string;
  region: string;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
  client: SQSClient;
  /** What an app process needs to talk to this SQS with an unconfigured `new SQSClient({})`. */
  env: Record<string, string>;
  stop: () => Promise<void>;
};

export type LocalSqsOptions = StepQueueOptions & {
  /** 0 (default) picks a free port. */
  port?: number;
  queueName?: string;
  dlqName?: string;
};

type Store = { host: string; shutdown: () => void };
type StoreConstructor = new () => Store;

/** fauxqs keeps its stores private; buildApp accepts our own instances, which lets us set the URL host. */
type Stores = { sqsStore: Store; snsStore: Store; s3Store: Store };

const createStores = async (): Promise<Stores> => {
  const dist = import.meta.resolve('fauxqs');
  const load = async (path: string, name: string): Promise<StoreConstructor> => {
    const mod = (await import(new URL(path, dist).href)) as Record<string, unknown>;
    const ctor = mod[name];
    if (typeof ctor !== 'function') throw new Error(`fauxqs: ${name} not found in ${path}`);
    return ctor as StoreConstructor;
  };
  const [SqsStore, SnsStore, S3Store] = await Promise.all([
    load('./sqs/sqsStore.js', 'SqsStore'),
    load('./sns/snsStore.js', 'SnsStore'),
    load('./s3/s3Store.js', 'S3Store'),
  ]);
  const sqsStore = new SqsStore();
  sqsStore.host = '';
  return { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() };
};

export const sqsClientFor = (endpoint: string): SQSClient =>
  new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

type FauxqsApp = ReturnType<typeof buildApp>;

/** fauxqs on 127.0.0.1 with queue URLs on that host; a taken port names the variable that moves it. */
const listenFauxqs = async (
  port: number | undefined,
): Promise<{ app: FauxqsApp; stores: Stores; endpoint: string }> => {
  const stores = await createStores();
  type AppStores = NonNullable<Parameters<typeof buildApp>[0]>['stores'];
  const app = buildApp({
    logger: false,
    defaultRegion: LOCAL_REGION,
    stores: stores as unknown as AppStores,
  });
  try {
    const address = await app.listen({ port: port ?? 0, host: '127.0.0.1' });
    return { app, stores, endpoint: address.replace('localhost', '127.0.0.1') };
  } catch (error) {
    await app.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`local SQS: port ${port} on 127.0.0.1 is already in use (set ELLIPSIS_SQS_PORT)`);
    }
    throw error;
  }
};

/** The FIFO DLQ, then the FIFO step queue redriving to it, with serverless.yml's attributes. */
const createStepQueues = async (client: SQSClient, options: LocalSqsOptions) => {
  const dlq = await client.send(
    new CreateQueueCommand({ QueueName: options.dlqName ?? STEP_DLQ_NAME, Attributes: dlqAttributes() }),
  );
  const dlqUrl = dlq.QueueUrl ?? '';
  const dlqArn = await queueArnOf(client, dlqUrl);
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: options.queueName ?? STEP_QUEUE_NAME,
      Attributes: stepQueueAttributes(dlqArn, options),
    }),
  );
  const queueUrl = queue.QueueUrl ?? '';
  return { queueUrl, queueArn: await queueArnOf(client, queueUrl), dlqUrl, dlqArn };
};

/** What an unconfigured SDK client in another process (or `osls invoke local`) needs to reach this SQS. */
const sqsProcessEnv = (endpoint: string, queues: { queueUrl: string; dlqUrl: string }) => ({
  AWS_REGION: LOCAL_REGION,
  AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  AWS_ENDPOINT_URL_SQS: endpoint,
  QUEUE_URL: queues.queueUrl,
  DLQ_URL: queues.dlqUrl,
});

export const startLocalSqs = async (options: LocalSqsOptions = {}): Promise<LocalSqs> => {
  const { app, stores, endpoint } = await listenFauxqs(options.port);
  const client = sqsClientFor(endpoint);
  try {
    const queues = await createStepQueues(client, options);
    return {
      endpoint,
      region: LOCAL_REGION,
      ...queues,
      client,
      env: sqsProcessEnv(endpoint, queues),
      stop: async () => {
        client.destroy();
        // Long polls in flight would otherwise hold the server open until their WaitTimeSeconds end.
        stores.sqsStore.shutdown();
        await app.close();
      },
    };
  } catch (error) {
    client.destroy();
    await app.close();
    throw error;
  }
};

const queueArnOf = async (client: SQSClient, queueUrl: string): Promise<string> => {
  const out = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`local SQS: no QueueArn for ${queueUrl}`);
  return arn;
};

/** The responder queue and its DLQ (serverless.yml ResponderQueue), on a running local SQS. */
export const createResponderQueues = async (
  client: SQSClient,
): Promise<{ url: string; arn: string; dlqUrl: string }> => {
  const dlq = await client.send(
    new CreateQueueCommand({ QueueName: RESPONDER_DLQ_NAME, Attributes: dlqAttributes() }),
  );
  const dlqUrl = dlq.QueueUrl ?? '';
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: RESPONDER_QUEUE_NAME,
      Attributes: responderQueueAttributes(await queueArnOf(client, dlqUrl)),
    }),
  );
  const url = queue.QueueUrl ?? '';
  return { url, arn: await queueArnOf(client, url), dlqUrl };
};
