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

/**
 * Few receivers, many invocation slots, as in AWS. One long poll per slot instead made fauxqs wake every
 * waiting poll for each message that became visible (all but one then return empty and poll again): with
 * 100 slots the herd of empty receives took the 2-core machine's CPU and made every step late.
 */
const DEFAULT_RECEIVERS = 5;

export const startEventSourceMapping = (options: EventSourceMappingOptions): EventSourceMapping => {
  const { client, queueUrl, queueArn, region, handler } = options;
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > 10) {
    throw new Error('batchSize must be an integer from 1 to 10 for a FIFO queue');
  }
  if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) {
    throw new Error('maxConcurrency must be a positive integer');
  }
  const now = options.now ?? Date.now;
  const timeoutMs = options.functionTimeoutMs ?? 30_000;
  const functionName = options.functionName ?? 'sender';
  const waitTimeSeconds = options.waitTimeSeconds ?? 20;
  const receivers = Math.min(options.maxConcurrency, options.receivers ?? DEFAULT_RECEIVERS);
  const abort = new AbortController();
  let invocation = 0;

  const invoke = async (records: SQSRecord[]): Promise<unknown> => {
    invocation += 1;
    const deadline = now() + timeoutMs;
    const context = lambdaContext(functionName, `local-${invocation}`, deadline, now);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`function timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([handler({ Records: records }, context), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  const processBatch = async (poller: number, messages: Message[]) => {
    const started = now();
    const records = messages.map((m) => toSqsRecord(m, queueArn, region));
    let toDelete: SQSRecord[] = [];
    let error: string | undefined;
    try {
      toDelete = recordsToDelete(records, await invoke(records));
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    if (toDelete.length > 0) {
      const out = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: toDelete.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
      if (out.Failed && out.Failed.length > 0)
        options.onPollError?.(new Error(`DeleteMessageBatch failed: ${JSON.stringify(out.Failed)}`));
    }
    const deleted = new Set(toDelete.map((r) => r.messageId));
    options.onBatch?.({
      poller,
      records,
      deleted: [...deleted],
      kept: records.filter((r) => !deleted.has(r.messageId)).map((r) => r.messageId),
      ...(error === undefined ? {} : { error }),
      durationMs: now() - started,
    });
  };

  /** Invocation slots (max concurrency): a receiver takes one before polling, the batch frees it. */
  const free = Array.from({ length: options.maxConcurrency }, (_, i) => i);
  const slotWaiters: (() => void)[] = [];
  const takeSlot = async (): Promise<number | undefined> => {
    while (free.length === 0 && !abort.signal.aborted)
      await new Promise<void>((resolve) => slotWaiters.push(resolve));
    return abort.signal.aborted ? undefined : free.pop();
  };
  const releaseSlot = (slot: number) => {
    free.push(slot);
    slotWaiters.shift()?.();
  };
  abort.signal.addEventListener('abort', () => {
    for (const wake of slotWaiters.splice(0)) wake();
  });
  const running = new Set<Promise<void>>();

  const receive = async (): Promise<Message[] | undefined> => {
    try {
      const out = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: options.batchSize,
          WaitTimeSeconds: waitTimeSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: abort.signal },
      );
      return out.Messages ?? [];
    } catch (e) {
      if (abort.signal.aborted) return undefined;
      options.onPollError?.(e);
      await sleep(500, abort.signal);
      return [];
    }
  };

  /** One receiver: holds a free slot while it long-polls, hands a batch to that slot, polls again. */
  const poll = async () => {
    while (!abort.signal.aborted) {
      const slot = await takeSlot();
      if (slot === undefined) return;
      const messages = await receive();
      if (!messages || messages.length === 0) {
        releaseSlot(slot);
        if (!messages) return;
        continue;
      }
      const batch = processBatch(slot, messages)
        .catch((e) => options.onPollError?.(e))
        .finally(() => {
          running.delete(batch);
          releaseSlot(slot);
        });
      running.add(batch);
    }
  };

  const pollers = Array.from({ length: receivers }, () => poll());
  return {
    stop: async () => {
      abort.abort();
      await Promise.all(pollers);
      await Promise.all([...running]);
    },
  };
};
