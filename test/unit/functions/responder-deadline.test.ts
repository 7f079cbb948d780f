/**
 * The responder function hands Lambda's remaining time to the turn (functions/responder.ts →
 * lib/responder/turn.ts thinkingDeadline): a responder that thinks past the function's timeout is cut off
 * while the invocation can still send the fallback, not killed with the bubble showing. Lambda ends an
 * invocation at its timeout (AWS Lambda Developer Guide, "Configure Lambda function timeout"); the context's
 * getRemainingTimeInMillis says how long is left (AWS Lambda Developer Guide, "Lambda context object in Node.js").
 */
import {
  DeleteMessageBatchCommand,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../../functions/responder.ts';
import type { Responder } from '../../../lib/bots/responder.ts';
import { encodeInbound } from '../../../lib/queue/inbound-codec.ts';
import { inboundEvent } from '../../support/factories.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

const sqsMock = mockClient(SQSClient);
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const env = {
  QUEUE_URL: 'http://127.0.0.1:1/000000000000/steps.fifo',
  RESPONDER_QUEUE_URL: 'http://127.0.0.1:1/000000000000/responder.fifo',
  RESPONDER_FALLBACK_TEXT: 'Sorry, that took too long.',
  // Longer than the function has left below: the function's deadline is what must stop the thinking.
  RESPONDER_MAX_THINKING_MS: '20000',
};

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })),
    Failed: [],
  }));
  sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

/** Thinks until told to stop (the turn's signal aborts when thinking runs out). */
const neverAnswers: Responder = (_event, { signal }) =>
  new Promise((resolve) => signal.addEventListener('abort', () => resolve([])));

describe('responder handler: the function deadline', () => {
  it("sends the fallback before Lambda's timeout when the responder would think past it", async () => {
    const handler = makeHandler(env, {
      responder: neverAnswers,
      sqs: new SQSClient({ region: 'us-east-1', credentials }),
      telemetry: memoryTelemetry(),
    });
    const receivedAt = Date.now() - 60_000;
    const event = {
      Records: [
        {
          messageId: 'msg-a',
          receiptHandle: 'rh-a',
          body: encodeInbound({ v: 1, event: inboundEvent({ eventId: 'a', mid: 'a' }), receivedAt }),
          attributes: { MessageGroupId: 'PAGE:USER', ApproximateReceiveCount: '1' },
        },
      ],
    } as unknown as SQSEvent;
    // Lambda's countdown: 5.4 s left, of which the turn keeps 5 s in reserve.
    const timesOutAt = Date.now() + 5_400;
    const context = { getRemainingTimeInMillis: () => timesOutAt - Date.now() };

    const result = await handler(event, context);

    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(result.batchItemFailures).toEqual([]);
    const bodies = sqsMock
      .commandCalls(SendMessageBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? [])
      .map((e) => e.MessageBody ?? '');
    expect(bodies.some((b) => b.includes('Sorry, that took too long.'))).toBe(true);
  });
});
