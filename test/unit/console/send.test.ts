import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../../functions/send.ts';
import type { ControlResult } from '../../../lib/console/control.ts';
import { parseSendPayload, type SendResult } from '../../../lib/console/send.ts';
import { channelShapeOf, sendTargetOf } from '../../../lib/meta/outbound.ts';
import { loadPlanConfig } from '../../../lib/pacing/config.ts';
import { planSequence } from '../../../lib/pacing/plan.ts';
import { isWithheld, memoryConversationState } from '../../../lib/platform/conversation-state.ts';
import { decodeStep, groupIdOf, type QueuedStep } from '../../../lib/queue/codec.ts';
import { dedupIdOf } from '../../../lib/queue/producer.ts';
import { actionKind } from '../../../lib/queue/step.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/ellipsis-test-steps.fifo';
const env = { QUEUE_URL, PLAN_TIME_SCALE: '0.01' };
const NOW = 1_790_000_000_000;
const eventsDir = join(import.meta.dirname, '..', '..', '..', 'infra', 'events');

const sqsMock = mockClient(SQSClient);
const acceptAll = () =>
  sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: SendMessageBatchRequestEntry[] }) => ({
    Successful: input.Entries.map((e) => ({
      Id: e.Id,
      MessageId: `msg-${e.MessageDeduplicationId}`,
      MD5OfMessageBody: 'x',
    })),
    Failed: [],
  }));

beforeEach(() => {
  sqsMock.reset();
  acceptAll();
});

let counter = 0;
const handlerWith = (overrides: Parameters<typeof makeHandler>[1] = {}) =>
  makeHandler(env, {
    sqs: new SQSClient({ region: 'us-east-1' }),
    now: () => NOW,
    newSequenceId: () => `generated-${++counter}`,
    telemetry: memoryTelemetry(),
    sleep: async () => {},
    random: () => 0.5,
    ...overrides,
  });

const batchCalls = () => sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
const decoded = (entries: readonly SendMessageBatchRequestEntry[]): QueuedStep[] =>
  entries.map((e) => {
    const d = decodeStep(e.MessageBody ?? '');
    if (!d.ok) throw new Error(d.reason);
    return d.step;
  });
const okResult = (r: SendResult | ControlResult) => {
  if ('control' in r) throw new Error('expected a send result');
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.errors)}`);
  return r;
};

const sampleEvents = readdirSync(eventsDir)
  .filter((f) => /^send-.+\.json$/.test(f))
  .map((f) => ({
    file: f,
    event: JSON.parse(readFileSync(join(eventsDir, f), 'utf8')) as Record<string, unknown>,
  }));
const CONTROL_SAMPLES = ['send-pause.json', 'send-resume.json'];
const validSamples = sampleEvents.filter(
  (s) => s.file !== 'send-invalid.json' && !CONTROL_SAMPLES.includes(s.file),
);
const controlSamples = sampleEvents.filter((s) => CONTROL_SAMPLES.includes(s.file));

describe('sample events (infra/events)', () => {
  it('include the four documented ones', () => {
    expect(sampleEvents.map((s) => s.file).sort()).toEqual(
      [
        'send-greeting.json',
        'send-invalid.json',
        'send-multi-reply-quick-replies.json',
        'send-pause.json',
        'send-reaction.json',
        'send-resume.json',
        'send-whatsapp-reply.json',
      ].sort(),
    );
  });

  it.each(controlSamples)(
    '$file pauses or resumes the bot for its user, enqueueing nothing',
    async ({ event }) => {
      const state = memoryConversationState();
      const result = await makeHandler(env, {
        sqs: new SQSClient({ region: 'us-east-1' }),
        conversationState: state,
      })(event);
      expect(result).toMatchObject({ ok: true, control: event.control });
      expect(batchCalls()).toHaveLength(0);
      const record = await state.read(`${String(event.pageId)}:${String(event.psid)}`);
      expect(isWithheld(record, Date.now() + 1)).toBe(event.control === 'pause');
    },
  );

  it.each(validSamples)(
    '$file enqueues one batch in the user group with <sequenceId>:<index> dedup ids',
    async ({ event }) => {
      const result = okResult(await handlerWith()(event));
      const calls = batchCalls();
      expect(calls).toHaveLength(1);
      const entries = calls[0]!.Entries ?? [];
      expect(calls[0]!.QueueUrl).toBe(QUEUE_URL);

      const groupId = groupIdOf(String(event.pageId), String(event.psid));
      expect(result.groupId).toBe(groupId);
      if (typeof event.sequenceId === 'string') expect(result.sequenceId).toBe(event.sequenceId);
      else expect(result.sequenceId).toMatch(/^generated-\d+$/);

      expect(entries.map((e) => e.MessageGroupId)).toEqual(entries.map(() => groupId));
      expect(entries.map((e) => e.MessageDeduplicationId)).toEqual(
        entries.map((_, i) => dedupIdOf(result.sequenceId, i)),
      );
      const bodies = decoded(entries);
      expect(bodies.map((b) => [b.pageId, b.psid, b.sequenceId, b.index, b.count])).toEqual(
        bodies.map((_, i) => [event.pageId, event.psid, result.sequenceId, i, bodies.length]),
      );
      expect(result.steps).toEqual(
        bodies.map((b) => ({ index: b.index, kind: actionKind(b.action), delayMs: b.delayMs })),
      );
      expect(result.messageIds).toEqual(entries.map((e) => `msg-${e.MessageDeduplicationId}`));
    },
  );

  it('plans replies with the typing model, seeded by the sequence id', async () => {
    const { event } = validSamples.find((s) => s.file === 'send-multi-reply-quick-replies.json')!;
    okResult(await handlerWith()(event));
    const bodies = decoded(batchCalls()[0]!.Entries ?? []);
    const expected = planSequence(
      {
        seed: String(event.sequenceId),
        inboundText: String(event.inboundText),
        replies: event.replies as never,
      },
      loadPlanConfig(env),
    );
    expect(bodies.map((b) => ({ action: b.action, delayMs: b.delayMs }))).toEqual(
      expected.map((s) => ({ action: s.action, delayMs: s.delayMs })),
    );
    expect(bodies[0]!.action).toEqual({ sender_action: 'mark_seen' });
    expect(bodies.filter((b) => 'message' in b.action).map((b) => b.action)).toEqual(event.replies);
  });

  it('sends explicit steps exactly as given', async () => {
    const { event } = validSamples.find((s) => s.file === 'send-reaction.json')!;
    okResult(await handlerWith()(event));
    const bodies = decoded(batchCalls()[0]!.Entries ?? []);
    expect(
      bodies.map((b) => ({
        action: b.action,
        delayMs: b.delayMs,
        ...(b.skippableAfterMs !== undefined && { skippableAfterMs: b.skippableAfterMs }),
      })),
    ).toEqual(event.steps);
    // dueAt accumulates the delays from the press time.
    expect(bodies.at(-1)!.dueAt).toBe(
      NOW + (event.steps as { delayMs: number }[]).reduce((t, s) => t + s.delayMs, 0),
    );
  });

  it('send-invalid.json returns field-level errors and touches no queue', async () => {
    const { event } = sampleEvents.find((s) => s.file === 'send-invalid.json')!;
    const result = await handlerWith()(event);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.path)).toEqual(
      expect.arrayContaining([
        'pageId',
        'psid',
        'replies[0].message.text',
        'steps[0].action.sender_action',
        'steps[0].delayMs',
        'steps',
      ]),
    );
    expect(result.errors.find((e) => e.path === 'psid')?.message).toMatch(/string.*quotes/);
    expect(result.errors.find((e) => e.path === 'steps[0].action.sender_action')?.message).toMatch(/react/);
    expect(batchCalls()).toHaveLength(0);
  });
});

describe('idempotency', () => {
  const greeting = () => validSamples.find((s) => s.file === 'send-greeting.json')!.event;

  it('a generated sequence id differs per press, so two presses send twice', async () => {
    const handler = makeHandler(env, {
      sqs: new SQSClient({ region: 'us-east-1' }),
      telemetry: memoryTelemetry(),
    });
    const first = okResult(await handler(greeting()));
    const second = okResult(await handler(greeting()));
    expect(first.sequenceId).not.toBe(second.sequenceId);
    const [a, b] = batchCalls();
    expect(a!.Entries![0]!.MessageDeduplicationId).not.toBe(b!.Entries![0]!.MessageDeduplicationId);
  });

  it('a supplied sequence id gives identical dedup ids and plan on every press', async () => {
    const handler = handlerWith();
    const event = { ...greeting(), sequenceId: 'ops-ticket-42' };
    await handler(event);
    await handler(event);
    const [a, b] = batchCalls();
    expect(a!.Entries!.map((e) => e.MessageDeduplicationId)).toEqual(
      b!.Entries!.map((e) => e.MessageDeduplicationId),
    );
    expect(a!.Entries!.map((e) => e.MessageBody)).toEqual(b!.Entries!.map((e) => e.MessageBody));
  });
});

describe('errors are returned, not thrown', () => {
  const base = { pageId: '1', psid: '2', replies: [{ message: { text: 'hi' } }] };

  it.each([
    [null, '(root)'],
    ['send hi', '(root)'],
    [[base], '(root)'],
    [{ pageId: '1', psid: '2' }, '(root)'],
    [{ ...base, steps: [{ action: { sender_action: 'typing_on' }, delayMs: 0 }] }, 'steps'],
    [
      {
        pageId: '1',
        psid: '2',
        inboundText: 'x',
        steps: [{ action: { sender_action: 'mark_seen' }, delayMs: 0 }],
      },
      'inboundText',
    ],
    [{ ...base, repliez: [] }, 'repliez'],
    [
      { ...base, replies: [{ sender_action: 'react', payload: { message_id: 'm' } }] },
      'replies[0].payload.reaction',
    ],
    [{ ...base, replies: [] }, 'replies'],
    [{ ...base, sequenceId: '' }, 'sequenceId'],
  ])('%j → error at %s', async (event, path) => {
    const result = await handlerWith()(event);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.path)).toContain(path);
    expect(batchCalls()).toHaveLength(0);
  });

  it('a missing QUEUE_URL is a (config) error naming the variable, and the next press retries', async () => {
    const mutableEnv: Record<string, string> = {};
    const handler = makeHandler(mutableEnv, {
      sqs: new SQSClient({ region: 'us-east-1' }),
      telemetry: memoryTelemetry(),
    });
    const first = await handler(base);
    expect(first).toEqual({
      ok: false,
      errors: [{ path: '(config)', message: expect.stringContaining('QUEUE_URL') }],
    });
    mutableEnv.QUEUE_URL = QUEUE_URL;
    expect((await handler(base)).ok).toBe(true);
  });

  it('a queue that keeps throttling is a retryable (queue) error after the producer gives up', async () => {
    sqsMock.reset();
    sqsMock
      .on(SendMessageBatchCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    const result = await handlerWith()(base);
    expect(result).toEqual({
      ok: false,
      errors: [{ path: '(queue)', message: expect.stringContaining('ThrottlingException') }],
      retryable: true,
    });
    expect(batchCalls().length).toBeGreaterThan(1);
  });

  it('arbitrary payloads never throw and always answer ok or named errors (property)', async () => {
    const handler = handlerWith();
    const action = fc.oneof(
      fc.record({ sender_action: fc.constantFrom('mark_seen', 'typing_on', 'typing_off', 'wave') }),
      fc.record({ message: fc.record({ text: fc.string({ maxLength: 30 }) }, { requiredKeys: [] }) }),
      fc.anything(),
    );
    const payload = fc.oneof(
      fc.anything(),
      fc.record(
        {
          pageId: fc.oneof(fc.string({ maxLength: 70 }), fc.integer()),
          psid: fc.oneof(fc.string({ maxLength: 70 }), fc.bigInt().map(Number)),
          sequenceId: fc.string({ maxLength: 210 }),
          inboundText: fc.string(),
          replies: fc.array(
            fc.oneof(
              fc.record({ message: fc.record({ text: fc.string({ maxLength: 30 }) }) }),
              fc.anything(),
            ),
            {
              maxLength: 12,
            },
          ),
          steps: fc.array(fc.record({ action, delayMs: fc.oneof(fc.integer(), fc.double()) }), {
            maxLength: 12,
          }),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(payload, async (event) => {
        const calls = batchCalls().length;
        const result = await handler(event);
        if (result.ok) {
          expect(batchCalls().length).toBeGreaterThan(calls);
          expect('steps' in result && result.steps.length).toBeGreaterThan(0);
        } else {
          expect(result.errors.length).toBeGreaterThan(0);
          for (const e of result.errors)
            expect(e).toEqual({ path: expect.any(String), message: expect.any(String) });
          expect(batchCalls().length).toBe(calls);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('valid reply payloads always enqueue planned steps under the payload ids (property)', async () => {
    const handler = handlerWith();
    const id = fc.stringMatching(/^[0-9]{1,20}$/);
    await fc.assert(
      fc.asyncProperty(
        id,
        id,
        fc.option(fc.stringMatching(/^[A-Za-z0-9:_-]{1,60}$/), { nil: undefined }),
        fc.array(fc.string({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(undefined, 'messenger', 'instagram', 'whatsapp'),
        async (pageId, psid, sequenceId, texts, channel) => {
          sqsMock.resetHistory();
          const replies = texts.map((text) => ({ message: { text } }));
          const target = channel === 'whatsapp' ? { channel, inboundMid: `wamid.${psid}` } : { channel };
          const result = okResult(
            await handler({ pageId, psid, replies, ...target, ...(sequenceId && { sequenceId }) }),
          );
          const bodies = decoded(batchCalls().flatMap((c) => c.Entries ?? []));
          expect(bodies.filter((b) => 'message' in b.action).map((b) => b.action)).toEqual(replies);
          // Messenger bodies omit the channel (the codec's default); the others carry it on every step.
          const expected = channel === undefined || channel === 'messenger' ? undefined : channel;
          expect(bodies.every((b) => b.channel === expected && b.inboundMid === target.inboundMid)).toBe(
            true,
          );
          if (sequenceId) expect(result.sequenceId).toBe(sequenceId);
          expect(new Set(bodies.map((b) => b.sequenceId))).toEqual(new Set([result.sequenceId]));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('channel', () => {
  const whatsappSample = () => sampleEvents.find((s) => s.file === 'send-whatsapp-reply.json')!.event;
  const pathsOf = (input: unknown) => {
    const r = parseSendPayload(input);
    return r.ok ? [] : r.errors.map((e) => e.path);
  };

  it('is messenger by default: the bodies carry no channel, as before channels existed', async () => {
    const event = validSamples.find((s) => s.file === 'send-greeting.json')!.event;
    okResult(await handlerWith()(event));
    const bodies = decoded(batchCalls()[0]!.Entries ?? []);
    expect(bodies.every((b) => b.channel === undefined && b.inboundMid === undefined)).toBe(true);
  });

  it('whatsapp: every step carries the channel and the inbound wamid, so typing becomes read + typing on it', async () => {
    const event = whatsappSample();
    okResult(await handlerWith()(event));
    const bodies = decoded(batchCalls()[0]!.Entries ?? []);
    expect(new Set(bodies.map((b) => [b.channel, b.inboundMid].join(' ')))).toEqual(
      new Set([`whatsapp ${event.inboundMid}`]),
    );
    const typing = bodies.find((b) => actionKind(b.action) === 'typing_on')!;
    expect(channelShapeOf(typing.channel).requestFor(sendTargetOf(typing), typing.action)).toEqual({
      call: {
        node: event.pageId,
        body: expect.objectContaining({ status: 'read', message_id: event.inboundMid }),
      },
    });
    const message = bodies.find((b) => actionKind(b.action) === 'message')!;
    const call = channelShapeOf(message.channel).requestFor(sendTargetOf(message), message.action);
    // The sample's user is known by a business-scoped user id: Cloud API → Messages addresses it with `recipient`.
    expect(call).toMatchObject({ call: { body: { recipient: event.psid, type: 'interactive' } } });
    expect(call).not.toHaveProperty('call.body.to');
  });

  it('whatsapp replies without inboundMid are refused on that field (every typing step would be skipped)', () => {
    const { inboundMid: _, ...event } = whatsappSample();
    const r = parseSendPayload(event);
    expect(r).toEqual({
      ok: false,
      errors: [{ path: 'inboundMid', message: expect.stringMatching(/WhatsApp/) }],
    });
    expect(
      pathsOf({
        ...event,
        replies: undefined,
        inboundText: undefined,
        steps: [
          { action: { sender_action: 'typing_on' }, delayMs: 0 },
          { action: { message: { text: 'hi' } }, delayMs: 500 },
        ],
      }),
    ).toEqual(['inboundMid']);
  });

  it('whatsapp steps without typing need no inboundMid', () => {
    const { inboundMid: _, ...event } = whatsappSample();
    const steps = [{ action: { message: { text: 'your order shipped' } }, delayMs: 0 }];
    expect(parseSendPayload({ ...event, replies: undefined, inboundText: undefined, steps }).ok).toBe(true);
  });

  it('inboundMid outside whatsapp and an unknown channel are named field errors', () => {
    const greeting = validSamples.find((s) => s.file === 'send-greeting.json')!.event;
    expect(pathsOf({ ...greeting, inboundMid: 'm_1' })).toEqual(['inboundMid']);
    expect(pathsOf({ ...greeting, channel: 'instagram', inboundMid: 'm_1' })).toEqual(['inboundMid']);
    const r = parseSendPayload({ ...greeting, channel: 'telegram' });
    expect(r).toEqual({
      ok: false,
      errors: [{ path: 'channel', message: 'channel must be one of messenger, instagram, whatsapp' }],
    });
    expect(parseSendPayload({ ...greeting, channel: 'instagram' }).ok).toBe(true);
  });
});

describe('parseSendPayload', () => {
  it('reports the union branch the operator meant, not every alternative', () => {
    const r = parseSendPayload({
      pageId: '1',
      psid: '2',
      replies: [
        {
          message: {
            text: 'ok',
            quick_replies: [{ content_type: 'text', title: 'x'.repeat(21), payload: 'P' }],
          },
        },
      ],
    });
    expect(r).toEqual({
      ok: false,
      errors: [{ path: 'replies[0].message.quick_replies[0].title', message: expect.stringMatching(/20/) }],
    });
  });
});
