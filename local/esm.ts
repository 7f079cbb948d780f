/**
 * A local stand-in for Lambda's SQS event source mapping (ESM), for FIFO queues with
 * FunctionResponseTypes: [ReportBatchItemFailures].
 *
 * What it does, as AWS does (AWS Lambda Developer Guide, "Using Lambda with Amazon SQS" and
 * "Handling errors for an SQS event source"):
 * - long-polls ReceiveMessage with all system attributes, MaxNumberOfMessages = batch size;
 * - builds `SQSEvent` records with Lambda's field names and types (attributes as strings, camel-cased
 *   messageAttributes, md5OfBody, eventSource 'aws:sqs', eventSourceARN, awsRegion);
 * - a returned `batchItemFailures` leaves those records on the queue and deletes the rest; for FIFO,
 *   once a record of a group failed, the later records of that group in the batch are kept too;
 * - a thrown error, a timeout, or an invalid response (itemIdentifier empty or not in the batch) fails
 *   the whole batch: nothing is deleted and the messages return after the visibility timeout;
 * - a few receivers long-poll and hand each batch to one of `maxConcurrency` invocation slots (a receiver
 *   polls only while it holds a free slot); per-group order comes from SQS FIFO itself, which hands out no
 *   message of a group while another of that group is in flight.
 *
 * Where it differs from AWS:
 * - slots are a fixed pool of `maxConcurrency` and receivers a fixed few (AWS scales both with the backlog
 *   and FIFO concurrency with active groups, and requires MaximumConcurrency ≥ 2); no batching window (MaximumBatchingWindowInSeconds = 0 behaviour);
 * - a timed-out handler is not killed: its batch is failed, but its promise keeps running in-process;
 * - the handler runs in this process, sharing module state across "invocations" like one warm container
 *   per poller would not (use `makeHandler` per mapping for isolation);
 * - the Context object is minimal (getRemainingTimeInMillis, ids, names); no AWSTraceHeader attribute;
 * - errors from ReceiveMessage are retried after a short pause rather than surfaced as ESM state;
 * - stop() aborts the pollers' long polls (see sqs.ts on what fauxqs does with an aborted poll).
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context.ts';

/** What the function returns is checked at run time, as Lambda does: see `recordsToDelete`. */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<unknown>;

export type BatchReport = {
  poller: number;
  records: SQSRecord[];
  /** messageIds left on the queue. */
  kept: string[];
  deleted: string[];
  /** Why the whole batch failed, when it did. */
  error?: string;
  durationMs: number;
};

export type EventSourceMappingOptions = {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  handler: SqsHandler;
  /** 1–10, as the function's mapping declares it. */
  batchSize: number;
  /** Parallel pollers (each invokes the handler with one batch at a time). */
  maxConcurrency: number;
  /** The function's timeout; a batch still running then counts as failed. */
  functionTimeoutMs?: number;
  functionName?: string;
  /** Long-poll wait, 0–20 s. */
  waitTimeSeconds?: number;
  /** Concurrent ReceiveMessage long polls (AWS's mapping starts with five pollers); ≤ maxConcurrency. */
  receivers?: number;
  onBatch?: (report: BatchReport) => void;
  onPollError?: (error: unknown) => void;
  now?: () => number;
};

export type EventSourceMapping = {
  /** Stops polling and waits for the batches in flight to finish. */
  stop: () => Promise<void>;
  /**
   * True when nothing is left to reach the handler without new input: the queue holds no message (visible,
   * in flight or delayed) and no batch or handler call (even a timed-out one) is running. Tests wait for it
   * instead of sleeping to show that nothing more arrives.
   */
  idle: () => Promise<boolean>;
};

const toRecordAttributes = (m: Message): SQSRecord['attributes'] => {
  const a = m.Attributes ?? {};
  return {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? '',
    SenderId: a.SenderId ?? '',
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? '',
    ...(a.SequenceNumber === undefined ? {} : { SequenceNumber: a.SequenceNumber }),
    ...(a.MessageGroupId === undefined ? {} : { MessageGroupId: a.MessageGroupId }),
    ...(a.MessageDeduplicationId === undefined ? {} : { MessageDeduplicationId: a.MessageDeduplicationId }),
  };
};

/** SQS API attributes are PascalCase with binary as bytes; Lambda records use camelCase and base64. */
const toRecordMessageAttributes = (attrs: Record<string, MessageAttributeValue> = {}): SQSMessageAttributes =>
  Object.fromEntries(
    Object.entries(attrs).map(([name, v]) => [
      name,
      {
        dataType: v.DataType ?? 'String',
        ...(v.StringValue === undefined ? {} : { stringValue: v.StringValue }),
        ...(v.BinaryValue === undefined
          ? {}
          : { binaryValue: Buffer.from(v.BinaryValue).toString('base64') }),
        stringListValues: v.StringListValues ?? [],
        binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
      },
    ]),
  );

export const toSqsRecord = (m: Message, queueArn: string, region: string): SQSRecord => ({
  messageId: m.MessageId ?? '',
  receiptHandle: m.ReceiptHandle ?? '',
  body: m.Body ?? '',
  attributes: toRecordAttributes(m),
  messageAttributes: toRecordMessageAttributes(m.MessageAttributes),
  md5OfBody: m.MD5OfBody ?? '',
  ...(m.MD5OfMessageAttributes === undefined ? {} : { md5OfMessageAttributes: m.MD5OfMessageAttributes }),
  eventSource: 'aws:sqs',
  eventSourceARN: queueArn,
  awsRegion: region,
});

export class BatchResponseError extends Error {
  override name = 'BatchResponseError';
}

/**
 * Which records of a batch to delete, given what the function returned (AWS Lambda Developer Guide,
 * "Implementing partial batch responses"): success on undefined/null/{}/empty failures; a whole-batch
 * failure (thrown BatchResponseError) on an itemIdentifier that is empty or not in the batch; for FIFO,
 * a failed record also keeps every later record of its message group.
 */
export const recordsToDelete = (records: readonly SQSRecord[], response: unknown): SQSRecord[] => {
  if (response === undefined || response === null) return [...records];
  if (typeof response !== 'object' || Array.isArray(response)) {
    throw new BatchResponseError('function response is not a batch response object');
  }
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return [...records];
  if (!Array.isArray(failures)) throw new BatchResponseError('batchItemFailures is not a list');
  const ids = new Set(records.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !ids.has(id)) {
      throw new BatchResponseError(`invalid itemIdentifier ${JSON.stringify(id)}`);
    }
    failed.add(id);
  }
  const failedGroups = new Set<string>();
  const keep = new Set<string>();
  for (const r of records) {
    const group = r.attributes.MessageGroupId;
    if (failed.has(r.messageId) || (group !== undefined && failedGroups.has(group))) {
      keep.add(r.messageId);
      if (group !== undefined) failedGroups.add(group);
    }
  }
  return records.filter((r) => !keep.has(r.messageId));
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** A mapping's settings with the defaults applied, and what its pollers share. */
type Mapping = Required<
  Pick<EventSourceMappingOptions, 'now' | 'functionTimeoutMs' | 'functionName' | 'waitTimeSeconds'>
> &
  EventSourceMappingOptions & {
    abort: AbortController;
    invocations: number;
    /** Handler calls not settled yet (a timed-out one keeps running after its batch failed). */
    running: number;
  };

const checkMappingOptions = (options: EventSourceMappingOptions): void => {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > 10) {
    throw new Error('batchSize must be an integer from 1 to 10 for a FIFO queue');
  }
  if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) {
    throw new Error('maxConcurrency must be a positive integer');
  }
};

/** Counts a handler call as running until it settles, even after its batch timed out. */
const tracked = <T>(m: Mapping, call: Promise<T>): Promise<T> => {
  m.running += 1;
  const settled = () => {
    m.running -= 1;
  };
  call.then(settled, settled);
  return call;
};

/** One invocation, failed (rejected) when it outlives the function's timeout, as Lambda fails it. */
const invoke = async (m: Mapping, records: SQSRecord[]): Promise<unknown> => {
  m.invocations += 1;
  const timeoutMs = m.functionTimeoutMs;
  const context = lambdaContext(m.functionName, `local-${m.invocations}`, m.now() + timeoutMs, m.now);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`function timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([tracked(m, m.handler({ Records: records }, context)), timeout]);
  } finally {
    clearTimeout(timer);
  }
};

const deleteRecords = async (m: Mapping, records: readonly SQSRecord[]): Promise<void> => {
  if (records.length === 0) return;
  const out = await m.client.send(
    new DeleteMessageBatchCommand({
      QueueUrl: m.queueUrl,
      Entries: records.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
    }),
  );
  if (out.Failed && out.Failed.length > 0)
    m.onPollError?.(new Error(`DeleteMessageBatch failed: ${JSON.stringify(out.Failed)}`));
};

/** Invokes the function with one batch, deletes what it handled, and reports the batch. */
const processBatch = async (m: Mapping, poller: number, messages: Message[]): Promise<void> => {
  const started = m.now();
  const records = messages.map((msg) => toSqsRecord(msg, m.queueArn, m.region));
  let toDelete: SQSRecord[] = [];
  let error: string | undefined;
  try {
    toDelete = recordsToDelete(records, await invoke(m, records));
  } catch (e) {
    error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  await deleteRecords(m, toDelete);
  const deleted = new Set(toDelete.map((r) => r.messageId));
  m.onBatch?.({
    poller,
    records,
    deleted: [...deleted],
    kept: records.filter((r) => !deleted.has(r.messageId)).map((r) => r.messageId),
    ...(error === undefined ? {} : { error }),
    durationMs: m.now() - started,
  });
};

/** One long poll; undefined once the mapping stops. A failed receive is reported and retried after a pause. */
const receive = async (m: Mapping): Promise<Message[] | undefined> => {
  try {
    const out = await m.client.send(
      new ReceiveMessageCommand({
        QueueUrl: m.queueUrl,
        MaxNumberOfMessages: m.batchSize,
        WaitTimeSeconds: m.waitTimeSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: m.abort.signal },
    );
    return out.Messages ?? [];
  } catch (e) {
    if (m.abort.signal.aborted) return undefined;
    m.onPollError?.(e);
    await sleep(500, m.abort.signal);
    return [];
  }
};

/**
 * Few receivers, many invocation slots, as in AWS. One long poll per slot instead made fauxqs wake every
 * waiting poll for each message that became visible (all but one then return empty and poll again): with
 * 100 slots the herd of empty receives took the 2-core machine's CPU and made every step late.
 */
const DEFAULT_RECEIVERS = 5;

/** Invocation slots (max concurrency): a receiver takes a free one before it polls, a batch frees it. */
const slotPool = (size: number, abort: AbortSignal) => {
  const free = Array.from({ length: size }, (_, i) => i);
  const waiting: (() => void)[] = [];
  abort.addEventListener('abort', () => {
    for (const wake of waiting.splice(0)) wake();
  });
  return {
    take: async (): Promise<number | undefined> => {
      while (free.length === 0 && !abort.aborted) await new Promise<void>((wake) => waiting.push(wake));
      return abort.aborted ? undefined : free.pop();
    },
    release: (slot: number) => {
      free.push(slot);
      waiting.shift()?.();
    },
  };
};

type Slots = ReturnType<typeof slotPool>;

/** One receiver: holds a free slot while it long-polls, hands a batch to that slot, polls again. */
const poll = async (m: Mapping, slots: Slots, running: Set<Promise<void>>): Promise<void> => {
  while (!m.abort.signal.aborted) {
    const slot = await slots.take();
    if (slot === undefined) return;
    const messages = await receive(m);
    if (!messages || messages.length === 0) {
      slots.release(slot);
      if (messages === undefined) return;
      continue;
    }
    const batch = processBatch(m, slot, messages)
      .catch((e) => m.onPollError?.(e))
      .finally(() => {
        running.delete(batch);
        slots.release(slot);
      });
    running.add(batch);
  }
};

export const startEventSourceMapping = (options: EventSourceMappingOptions): EventSourceMapping => {
  checkMappingOptions(options);
  const mapping: Mapping = {
    ...options,
    now: options.now ?? Date.now,
    functionTimeoutMs: options.functionTimeoutMs ?? 30_000,
    functionName: options.functionName ?? 'sender',
    waitTimeSeconds: options.waitTimeSeconds ?? 20,
    abort: new AbortController(),
    invocations: 0,
    running: 0,
  };
  const slots = slotPool(options.maxConcurrency, mapping.abort.signal);
  const running = new Set<Promise<void>>();
  const receivers = Math.min(options.maxConcurrency, options.receivers ?? DEFAULT_RECEIVERS);
  const pollers = Array.from({ length: receivers }, () => poll(mapping, slots, running));
  return {
    stop: async () => {
      mapping.abort.abort();
      await Promise.all(pollers);
      await Promise.all([...running]);
    },
    idle: () => mappingIdle(mapping),
  };
};

/**
 * A message stays in the queue (visible or not) from its send until its batch deleted it, after the handler
 * returned; the handler call is counted until it settles. So reading the queue first, then the count, sees
 * every message either queued or being handled.
 */
const mappingIdle = async (m: Mapping): Promise<boolean> => {
  const out = await m.client.send(
    new GetQueueAttributesCommand({
      QueueUrl: m.queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const queued = Object.values(out.Attributes ?? {}).reduce((sum, n) => sum + Number(n), 0);
  return queued === 0 && m.running === 0;
};

/** Every mapping of a pipeline idle, checked upstream first: an idle hop can no longer feed the later ones. */
export const pipelineIdle = async (mappings: readonly EventSourceMapping[]): Promise<boolean> => {
  for (const mapping of mappings) if (!(await mapping.idle())) return false;
  return true;
};
