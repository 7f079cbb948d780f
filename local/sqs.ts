/**
 * A real SQS API on 127.0.0.1: fauxqs (an SQS emulator speaking the AWS JSON protocol) run in-process,
 * with the FIFO step queue and its FIFO DLQ created through the SDK exactly as configured in AWS.
 *
 * Three adjustments, all outside the app's code:
 * - fauxqs's `startFauxqs` listens on 0.0.0.0; we build the app and listen on 127.0.0.1 ourselves.
 * - fauxqs hands out queue URLs as `http://sqs.<region>.localhost:<port>/…`, which the SDK then uses as
 *   its endpoint (queueUrlMiddleware) but which does not resolve here. With its store's `host` empty,
 *   fauxqs builds queue URLs from the request's Host header instead: `http://127.0.0.1:<port>/…`.
 * - fauxqs hands out at most one message per FIFO group per receive; AWS "first attempts to return as many
 *   messages with the same message group ID as possible" (AWS SQS Developer Guide, FIFO delivery logic),
 *   which the responder relies on to answer a burst as one turn. `groupBatches` makes fauxqs do the same.
 *
 * Checked against SQS FIFO in test/local-sqs.test.ts: group ordering and locking, dedup ids, visibility and
 * ChangeMessageVisibility (incl. 0 and MessageNotInflight), redrive to the DLQ after maxReceiveCount, and the
 * system attributes Lambda passes on, several messages of one group per receive. Known gaps:
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
  /** What the steps queue was created with (its shards are created alike). */
  stepQueueOptions: StepQueueOptions;
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

/** The parts of fauxqs's FIFO queue that `groupBatches` works with (fauxqs 2.x, dist/sqs/sqsStore.js). */
type FifoQueue = {
  fifoMessages: Map<string, { sequenceNumber?: string }[]>;
  fifoLockedGroups: Map<string, number>;
  dequeueFifo: (maxCount: number, ...rest: unknown[]) => unknown[];
  processTimers: () => void;
  changeVisibility: (receiptHandle: string, seconds: number) => void;
};

/** Sequence numbers are decimal strings of one length per queue; compare as big integers to be safe. */
const bySequence = (a: { sequenceNumber?: string }, b: { sequenceNumber?: string }): number => {
  const x = BigInt(a.sequenceNumber ?? '0');
  const y = BigInt(b.sequenceNumber ?? '0');
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * fauxqs puts each message whose visibility ends back at the FRONT of its group, one by one: with several of
 * a group in flight (now possible) that reverses them. SQS keeps a group in send order: restore it.
 */
const keepGroupOrder = (proto: FifoQueue): void => {
  for (const name of ['processTimers', 'changeVisibility'] as const) {
    const original = proto[name] as (this: FifoQueue, ...args: unknown[]) => void;
    (proto as Record<string, unknown>)[name] = function (this: FifoQueue, ...args: unknown[]) {
      original.apply(this, args);
      for (const group of this.fifoMessages.values()) if (group.length > 1) group.sort(bySequence);
    };
  }
};

/**
 * After fauxqs took one message of a group, takes the group's next ones too (up to the receive's maximum),
 * in order, through fauxqs's own dequeue (so receive counts, redrive and locking stay fauxqs's): the group
 * is shown alone to it, unlocked, once per further message, and its lock count restored and raised.
 */
const groupBatches = (mod: { SqsQueue?: unknown }): void => {
  const proto = (mod.SqsQueue as { prototype?: FifoQueue & { __groupBatches?: true } } | undefined)
    ?.prototype;
  if (!proto || typeof proto.dequeueFifo !== 'function' || proto.__groupBatches) return;
  const single = proto.dequeueFifo;
  proto.__groupBatches = true;
  keepGroupOrder(proto);
  proto.dequeueFifo = function (this: FifoQueue, maxCount, ...rest) {
    const lockedBefore = new Map(this.fifoLockedGroups);
    const result = single.call(this, maxCount, ...rest) as unknown[];
    const all = this.fifoMessages;
    // Only the groups this receive took from (others may be locked by another poller's batch).
    const taken = [...this.fifoLockedGroups.keys()].filter(
      (g) => (this.fifoLockedGroups.get(g) ?? 0) > (lockedBefore.get(g) ?? 0),
    );
    for (const group of taken) {
      while (result.length < Math.min(maxCount, 10) && (all.get(group)?.length ?? 0) > 0) {
        const locks = this.fifoLockedGroups.get(group) ?? 0;
        this.fifoLockedGroups.delete(group);
        this.fifoMessages = new Map([[group, all.get(group) ?? []]]);
        const more = single.call(this, 1, ...rest) as typeof result;
        this.fifoMessages = all;
        if ((all.get(group)?.length ?? 0) === 0) all.delete(group);
        this.fifoLockedGroups.set(group, locks + more.length);
        if (more.length === 0) break;
        result.push(...more);
      }
    }
    return result;
  };
};

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
  groupBatches((await import(new URL('./sqs/sqsStore.js', dist).href)) as { SqsQueue?: unknown });
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
      stepQueueOptions: options,
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

/**
 * Shard `index` (≥ 1) of the steps or responder queue, as infra/queues.cjs packages it: shard 0's
 * attributes, `ellipsis-<family>-s<i>.fifo`, redriving to its own FIFO DLQ.
 */
export const createShardQueues = async (
  client: SQSClient,
  family: 'steps' | 'responder',
  index: number,
  options: LocalSqsOptions = {},
): Promise<{ url: string; arn: string; dlqUrl: string }> => {
  const name = `ellipsis-${family}-s${index}`;
  const dlq = await client.send(
    new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: dlqAttributes() }),
  );
  const dlqUrl = dlq.QueueUrl ?? '';
  const dlqArn = await queueArnOf(client, dlqUrl);
  const attributes =
    family === 'steps' ? stepQueueAttributes(dlqArn, options) : responderQueueAttributes(dlqArn);
  const queue = await client.send(
    new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: attributes }),
  );
  const url = queue.QueueUrl ?? '';
  return { url, arn: await queueArnOf(client, url), dlqUrl };
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
