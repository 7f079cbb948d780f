/**
 * Two users typing at once are two turns: each responder run sees its own user's messages, all of them, in
 * order, and none of the other's. The inbound producer names the FIFO group (page + user) and the turn loop
 * groups a batch by it (AWS SQS Developer Guide, "Using the message group ID": messages of one group are
 * delivered in order; different groups may come interleaved in one batch). A group id that merged users
 * would answer one user with another's words.
 */
import type { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { Responder } from '../../../lib/bots/responder.ts';
import { loadPlanConfig } from '../../../lib/pacing/config.ts';
import type { QueueRecord } from '../../../lib/queue/consumer/record.ts';
import type { QueuedInbound } from '../../../lib/queue/inbound-codec.ts';
import { enqueueInbound } from '../../../lib/queue/inbound-producer.ts';
import { turnPolicySchema } from '../../../lib/responder/config.ts';
import { processTurns } from '../../../lib/responder/turn-consumer.ts';
import { inboundEvent } from '../../support/factories.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

const NOW = Date.now();
const policy = turnPolicySchema.parse({});

/** What the responder queue holds after the inbound producer enqueued `inbounds`, as Lambda hands it over. */
const queued = async (inbounds: readonly QueuedInbound[]): Promise<QueueRecord[]> => {
  const sent: SendMessageCommand[] = [];
  const sqs = { send: async (command: SendMessageCommand) => sent.push(command) } as never;
  for (const inbound of inbounds)
    await enqueueInbound({ sqs, queueUrl: 'https://sqs/responder.fifo' }, inbound);
  return sent.map(({ input }, i) => ({
    messageId: `msg-${i}`,
    receiptHandle: `rh-${i}`,
    body: input.MessageBody ?? '',
    attributes: { MessageGroupId: input.MessageGroupId, ApproximateReceiveCount: '1' },
  }));
};

const message = (psid: string, text: string, receivedAt: number, pageId = 'PAGE'): QueuedInbound => ({
  v: 1,
  event: inboundEvent({ pageId, psid, eventId: `${psid}-${text}`, mid: `${psid}-${text}`, text }),
  receivedAt,
  typingAt: receivedAt + 600,
});

const answerEach = async (records: readonly QueueRecord[]) => {
  const turns: { psid: string; texts: (string | undefined)[] }[] = [];
  const responder: Responder = (event, turn) => {
    turns.push({ psid: event.psid, texts: turn.events.map((e) => `${e.psid}: ${e.text}`) });
    return [{ message: { text: 'ok' } }];
  };
  const result = await processTurns(records, {
    responder,
    enqueue: async () => undefined,
    planConfig: loadPlanConfig({ PLAN_TIME_SCALE: '0' }),
    now: Date.now,
    sleep: async () => undefined,
    telemetry: memoryTelemetry(),
    sqs: { send: async () => ({}) } as never,
    queueUrl: 'https://sqs/responder.fifo',
    policy,
  });
  expect(result.batchItemFailures).toEqual([]);
  return turns.sort((a, b) => `${a.texts}`.localeCompare(`${b.texts}`));
};

describe('turns of two users typing at once', () => {
  const quiet = NOW - policy.RESPONDER_QUIET_MS - 10_000;

  it("hands each responder run its own user's burst, whole and in order, never the other's", async () => {
    const records = await queued([
      message('ANNA', 'hi', quiet),
      message('BORIS', 'hello', quiet + 100),
      message('ANNA', 'quick question', quiet + 200),
      message('BORIS', 'refund please', quiet + 300),
      message('ANNA', 'where is my order?', quiet + 400),
    ]);
    expect(await answerEach(records)).toEqual([
      { psid: 'ANNA', texts: ['ANNA: hi', 'ANNA: quick question', 'ANNA: where is my order?'] },
      { psid: 'BORIS', texts: ['BORIS: hello', 'BORIS: refund please'] },
    ]);
  });

  it('keeps one user writing to two Pages apart: two conversations, two turns', async () => {
    const records = await queued([
      message('ANNA', 'to the shop', quiet, 'SHOP_PAGE'),
      message('ANNA', 'to the cafe', quiet + 100, 'CAFE_PAGE'),
    ]);
    expect(await answerEach(records)).toEqual([
      { psid: 'ANNA', texts: ['ANNA: to the cafe'] },
      { psid: 'ANNA', texts: ['ANNA: to the shop'] },
    ]);
  });
});
