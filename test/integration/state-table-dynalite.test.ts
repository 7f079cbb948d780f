/**
 * The state table code, unchanged, against a DynamoDB implementation (dynalite 4) with the table created as
 * serverless.yml declares it: every record kind the functions write (`event:`, `abort:`, `sent:`, `reply:`,
 * `conv:`, `user:`), each through the module that writes it in AWS. What dynalite cannot show (lazy TTL deletion,
 * throughput, IAM) is listed in docs/stand-ins.md.
 */
import { GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeHandler as makeWebhookHandler } from '../../functions/webhook.ts';
import { loadLlmConfig } from '../../lib/bots/llm/config.ts';
import { boundHistory, conversationKey, historyBytes } from '../../lib/bots/llm/conversation.ts';
import { dynamoConversations, TURNS_ATTRIBUTE } from '../../lib/bots/llm/conversation-dynamo.ts';
import { dynamoConversationState } from '../../lib/platform/conversation-state-dynamo.ts';
import {
  abortKey,
  eventKey,
  STATE_TABLE_KEY,
  STATE_TABLE_TTL_ATTRIBUTE,
  stateLedger,
} from '../../lib/platform/ledger.ts';
import { dynamoLedger, readStateItem } from '../../lib/platform/state-table.ts';
import { REPLY_TTL_SECONDS, replyKey, stateReplies } from '../../lib/responder/mid-reply.ts';
import { REPLY_ATTRIBUTE } from '../../lib/responder/mid-reply-dynamo.ts';
import { recordSent, sentKey, wasSent } from '../../lib/sender/sent-steps.ts';
import { STATE_TABLE_TTL, stateTableDefinition } from '../../local/dynamo.ts';
import { postEvent, signatureOf, webhookBody } from '../../local/meta.ts';
import {
  createTableInput,
  declaredStateTable,
  recordRequests,
  startTestDynamo,
  type TestDynamo,
} from '../support/dynalite.ts';
import { inboundEvent, queuedStep } from '../support/factories.ts';
import { memoryTelemetry } from '../support/telemetry.ts';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo?.stop();
});

const T0 = 1_800_000_000_000;
const silentLog = { warn: () => {} };
const rawItem = async (key: string) =>
  (
    await dynamo.admin.send(
      new GetItemCommand({ TableName: dynamo.tableName, Key: { [STATE_TABLE_KEY]: { S: key } } }),
    )
  ).Item;
/** A ledger as one function container builds it (its own client, its own in-memory cache). */
const containerLedger = (use: 'event' | 'abort', now: () => number, ttlSeconds = 600) =>
  stateLedger(use, {
    tableName: dynamo.tableName,
    ttlSeconds,
    now,
    log: silentLog,
    dynamo: dynamo.containerClient(),
  }).ledger;

describe('the table', () => {
  test('is created from serverless.yml StateTable, keyed and expiring by the names the code uses', () => {
    const declared = declaredStateTable();
    expect(declared.KeySchema).toEqual([{ AttributeName: STATE_TABLE_KEY, KeyType: 'HASH' }]);
    expect(declared.TimeToLiveSpecification).toEqual({
      AttributeName: STATE_TABLE_TTL_ATTRIBUTE,
      Enabled: true,
    });
    // npm start creates the same table (local/dynamo.ts): a change in serverless.yml must reach it too.
    expect(createTableInput(declared, 'x')).toEqual(stateTableDefinition('x'));
    expect(declared.TimeToLiveSpecification).toEqual(STATE_TABLE_TTL);
  });
});

describe('event: records (webhook)', () => {
  test('a re-delivery reaching a fresh container is dropped by the record the first one wrote', async () => {
    const enqueued: unknown[] = [];
    const container = () =>
      makeWebhookHandler(
        {
          QUEUE_URL: 'http://127.0.0.1:1/000000000000/steps.fifo',
          RESPONDER_QUEUE_URL: 'http://127.0.0.1:1/000000000000/responder.fifo',
          META_APP_SECRET: 'state-table-secret',
          META_VERIFY_TOKEN: 'verify',
          STATE_TABLE_NAME: dynamo.tableName,
        },
        {
          dynamo: dynamo.containerClient(),
          telemetry: memoryTelemetry(),
          enqueue: async (seq) => enqueued.push(seq),
          enqueueInbound: async (inbound) => enqueued.push(inbound),
        },
      );
    const body = webhookBody({
      pageId: 'PAGE_EV',
      psid: 'USER_EV',
      timestamp: Date.now(),
      mid: 'm_ev',
      text: 'hi',
    });
    const post = postEvent(body, { 'x-hub-signature-256': signatureOf(body, 'state-table-secret') });
    expect((await container()(post)).statusCode).toBe(200);
    const afterFirst = enqueued.length;
    expect(afterFirst).toBeGreaterThan(0);
    const item = await rawItem(eventKey('PAGE_EV', 'm_ev'));
    expect(item?.[STATE_TABLE_TTL_ATTRIBUTE]?.N).toMatch(/^\d+$/);
    expect((await container()(post)).statusCode).toBe(200);
    expect(enqueued).toHaveLength(afterFirst);
  });

  test('put then get across containers, with the TTL the code compares itself (DynamoDB deletes lazily)', async () => {
    let now = T0;
    const key = eventKey('PAGE_TTL', 'm_ttl');
    await containerLedger('event', () => now, 600).record(key);
    expect(Number((await rawItem(key))?.[STATE_TABLE_TTL_ATTRIBUTE]?.N)).toBe(T0 / 1000 + 600);
    now = T0 + 599_999;
    expect(await containerLedger('event', () => now).has(key)).toBe(true);
    now = T0 + 600_000;
    expect(await containerLedger('event', () => now).has(key)).toBe(false);
    // Still in the table: expiry is the reader's comparison, not a deletion.
    expect(await rawItem(key)).toBeDefined();
    expect(await containerLedger('event', () => now).has(eventKey('PAGE_TTL', 'never'))).toBe(false);
  });

  test('reads are strongly consistent on the wire, and see a write made a moment before by another client', async () => {
    const client = dynamo.containerClient();
    const requests = recordRequests(client);
    const key = eventKey('PAGE_CR', 'm_cr');
    await containerLedger('event', Date.now).record(key);
    expect(await dynamoLedger(client, dynamo.tableName).has(key)).toBe(true);
    const gets = requests.filter((r) => r.target === 'DynamoDB_20120810.GetItem');
    expect(gets).toHaveLength(1);
    expect(gets[0]?.body).toMatchObject({ ConsistentRead: true, Key: { pk: { S: key } } });
  });
});

describe('abort: records (sender, responder restart)', () => {
  test('an abort one container records stops the sequence in another, and expires', async () => {
    let now = T0;
    const key = abortKey('PAGE:USER_AB', 'seq-ab');
    await containerLedger('abort', () => now, 120).record(key);
    expect(await containerLedger('abort', () => now).has(key)).toBe(true);
    expect(await containerLedger('abort', () => now).has(abortKey('PAGE:USER_AB', 'seq-other'))).toBe(false);
    now = T0 + 121_000;
    expect(await containerLedger('abort', () => now).has(key)).toBe(false);
  });
});

describe('sent: records (sender)', () => {
  const deps = () => ({ ledger: containerLedger('abort', Date.now), telemetry: memoryTelemetry() });

  test('a message Graph accepted is not sent again when its redelivery reaches another container', async () => {
    const step = queuedStep({ sequenceId: 'seq-sent', index: 2 });
    expect(await wasSent(deps(), 'PAGE:USER_S', step, 2)).toBe(false);
    await recordSent(deps(), 'PAGE:USER_S', step);
    expect(await rawItem(sentKey('PAGE:USER_S', step))).toBeDefined();
    expect(await wasSent(deps(), 'PAGE:USER_S', step, 2)).toBe(true);
    expect(await wasSent(deps(), 'PAGE:USER_S', { ...step, index: 3 }, 2)).toBe(false);
  });

  test('indicators are not recorded (repeating one shows nothing new)', async () => {
    const typing = queuedStep({ sequenceId: 'seq-typing', action: { sender_action: 'typing_on' } });
    await recordSent(deps(), 'PAGE:USER_T', typing);
    expect(await rawItem(sentKey('PAGE:USER_T', typing))).toBeUndefined();
  });
});

describe('reply: records (responder, RESPONDER_MID_REPLY=restart)', () => {
  const replies = (now: () => number) =>
    stateReplies({ tableName: dynamo.tableName, now, log: silentLog, dynamo: dynamo.containerClient() });
  const reply = { events: [inboundEvent()], group: 'PAGE:USER_R', sequenceIds: ['seq-r'], endsAt: T0 + 9000 };

  test('saved by one container, loaded by another, gone after REPLY_TTL_SECONDS', async () => {
    const key = replyKey('PAGE', 'USER_R');
    await replies(() => T0).save(key, reply);
    expect(await replies(() => T0 + 1000).load(key)).toEqual(reply);
    expect(await replies(() => T0 + REPLY_TTL_SECONDS * 1000).load(key)).toBeUndefined();
  });

  test('an item in another shape (another version wrote it) is forgotten, not fatal', async () => {
    const key = replyKey('PAGE', 'USER_OLD');
    for (const stored of ['{"events":"old"}', 'not json']) {
      await dynamo.admin.send(
        new PutItemCommand({
          TableName: dynamo.tableName,
          Item: {
            [STATE_TABLE_KEY]: { S: key },
            [STATE_TABLE_TTL_ATTRIBUTE]: { N: String(T0 / 1000 + 3600) },
            [REPLY_ATTRIBUTE]: { S: stored },
          },
        }),
      );
      expect(await replies(() => T0).load(key)).toBeUndefined();
    }
  });
});

describe('conv: records (LLM memory) and the 400 KB item limit', () => {
  const conversations = (now = () => T0) =>
    dynamoConversations(dynamo.containerClient(), dynamo.tableName, { ttlSeconds: 604_800, now });
  /**
   * The most a JSON character costs: a \u escape (6 bytes) for a control character. ASCII on the wire, so
   * dynalite's size (UTF-16 units) and DynamoDB's (UTF-8 bytes, DynamoDB Developer Guide "Item sizes")
   * agree; for an emoji dynalite counts 2 where DynamoDB counts 4, so emoji would prove less here.
   */
  const worstTurn = (n: number) => ({ user: '\u0001'.repeat(n), assistant: '\u001f'.repeat(n), at: T0 });

  test('the largest history LLM_HISTORY_MAX_BYTES allows fits in one item and reads back intact', async () => {
    const base = { LLM_MODEL: 'm', LLM_API_KEY: 'k' };
    const max = loadLlmConfig({ ...base, LLM_HISTORY_MAX_BYTES: '350000' }).LLM_HISTORY_MAX_BYTES;
    expect(() => loadLlmConfig({ ...base, LLM_HISTORY_MAX_BYTES: String(max + 1) })).toThrow(
      /LLM_HISTORY_MAX_BYTES/,
    );
    const turns = boundHistory(
      Array.from({ length: 100 }, () => worstTurn(400)),
      100,
      max,
    );
    expect(historyBytes(turns)).toBeGreaterThan(max - 30_000);
    const key = conversationKey('PAGE', 'USER_BIG');
    await conversations().save(key, turns);
    expect(await conversations().load(key)).toEqual(turns);
    expect((await rawItem(key))?.[TURNS_ATTRIBUTE]?.S).toHaveLength(JSON.stringify(turns).length);
  });

  test('an item over 400 KB is refused by the table, as DynamoDB refuses it', async () => {
    const tooBig = [worstTurn(50_000)];
    expect(historyBytes(tooBig)).toBeGreaterThan(400 * 1024);
    await expect(conversations().save(conversationKey('PAGE', 'USER_HUGE'), tooBig)).rejects.toThrow(
      /Item size has exceeded the maximum allowed size/,
    );
  });

  test('expires with its TTL; an unknown user has no turns', async () => {
    const key = conversationKey('PAGE', 'USER_C');
    await conversations().save(key, [{ user: 'hi', assistant: 'hello', at: T0 }]);
    expect(await conversations(() => T0 + 1000).load(key)).toHaveLength(1);
    expect(await conversations(() => T0 + 604_800_000).load(key)).toEqual([]);
    expect(await conversations().load(conversationKey('PAGE', 'NOBODY'))).toEqual([]);
  });
});

describe('a missing table', () => {
  const missing = 'ellipsis-missing-state';

  test('a read names the missing resource', async () => {
    await expect(readStateItem(dynamo.containerClient(), missing, 'k', Date.now)).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  test('the webhook fails open: the event is still enqueued, and the warning says why', async () => {
    const telemetry = memoryTelemetry();
    const enqueued: unknown[] = [];
    const handler = makeWebhookHandler(
      {
        QUEUE_URL: 'http://127.0.0.1:1/000000000000/steps.fifo',
        RESPONDER_QUEUE_URL: 'http://127.0.0.1:1/000000000000/responder.fifo',
        META_APP_SECRET: 'state-table-secret',
        META_VERIFY_TOKEN: 'verify',
        STATE_TABLE_NAME: missing,
      },
      {
        dynamo: dynamo.containerClient(),
        telemetry,
        enqueue: async (seq) => enqueued.push(seq),
        enqueueInbound: async (inbound) => enqueued.push(inbound),
      },
    );
    const body = webhookBody({
      pageId: 'PAGE_M',
      psid: 'USER_M',
      timestamp: Date.now(),
      mid: 'm_m',
      text: 'hi',
    });
    const result = await handler(
      postEvent(body, { 'x-hub-signature-256': signatureOf(body, 'state-table-secret') }),
    );
    expect(result.statusCode).toBe(200);
    expect(enqueued.length).toBeGreaterThan(0);
    expect(telemetry.logs.map((l) => l.message)).toContain('answered-events ledger unreadable; enqueueing');
  });

  test('the sender fails open on a sent-step read, counting LedgerReadFailed', async () => {
    const telemetry = memoryTelemetry();
    const ledger = stateLedger('abort', {
      tableName: missing,
      ttlSeconds: 60,
      now: Date.now,
      log: silentLog,
      dynamo: dynamo.containerClient(),
    }).ledger;
    expect(await wasSent({ ledger, telemetry }, 'PAGE:USER_M', queuedStep(), 2)).toBe(false);
    expect(telemetry.metrics.map((m) => m.name)).toContain('LedgerReadFailed');
  });
});

describe('the user record (user:, lib/platform/conversation-state-dynamo.ts)', () => {
  test('when the user last wrote sits beside the hold, and neither write undoes the other', async () => {
    const state = dynamoConversationState(dynamo.containerClient(), dynamo.tableName, {
      ttlSeconds: 600,
      now: () => T0,
    });
    await state.hold('P:quote', { through: T0 + 900_000, reason: 'person', at: T0 });
    await state.userWrote('P:quote', T0 + 5);
    await state.botSpoke('P:quote', T0 + 6);
    expect(await state.read('P:quote')).toEqual({
      silentThrough: T0 + 900_000,
      reason: 'person',
      personAt: T0,
      lastBotAt: T0 + 6,
      lastInboundAt: T0 + 5,
    });
  });
});

test('nothing but the prefixes the code documents is written', async () => {
  const { Items = [] } = await dynamo.admin.send(new ScanCommand({ TableName: dynamo.tableName }));
  const prefixes = new Set(Items.map((i) => i[STATE_TABLE_KEY]?.S?.split(':')[0]));
  expect([...prefixes].sort()).toEqual(['abort', 'conv', 'event', 'reply', 'sent', 'user']);
});
