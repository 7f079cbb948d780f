/**
 * Fuzzing the webhook Lambda handler (functions/webhook.ts, API Gateway v2 events) with fast-check:
 * well over 10,000 generated bodies, headers and signatures — random JSON, Meta-shaped bodies with wrong
 * types, truncated and oversized bodies, invalid UTF-8, unicode, base64 bodies with flipped bits, and
 * hand-made signature headers. Invariants: the handler never throws and never leaves an unhandled
 * rejection; every answer is 200 or a 4xx with a reason (the SQS stub always succeeds, so no 5xx); a
 * body whose signature is not the HMAC of its exact bytes is never accepted and never reaches SQS.
 */
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/webhook.ts';
import { postEvent, postEventBase64 } from '../../local/meta.ts';
import { hmacHex, hubSignature } from '../support/signing.ts';
import { memoryTelemetry } from '../support/telemetry.ts';

const APP_SECRET = 'fuzz-app-secret-5b0e3c9d71a2';
const MAX_BODY = 64 * 1024;
const env = {
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ellipsis-steps.fifo',
  RESPONDER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ellipsis-responder.fifo',
  META_APP_SECRET: APP_SECRET,
  META_VERIFY_TOKEN: 'fuzz-verify-token',
  PLAN_TIME_SCALE: '0.01',
  WEBHOOK_MAX_BODY_BYTES: String(MAX_BODY),
  AWS_REGION: 'us-east-1',
};

let sqsCalls = 0;
/** Accepts every entry at once: any 5xx would then be the handler's own fault. */
const stubSqs = {
  send: async (command: unknown) => {
    sqsCalls++;
    if (command instanceof SendMessageCommand) return { MessageId: 'm-inbound', $metadata: {} };
    if (!(command instanceof SendMessageBatchCommand)) throw new Error('unexpected SQS command');
    const entries = command.input.Entries ?? [];
    return {
      Successful: entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })),
      Failed: [],
      $metadata: {},
    } as unknown as SendMessageBatchCommandOutput;
  },
} as unknown as SQSClient;

const handler = makeHandler(env, { sqs: stubSqs, telemetry: memoryTelemetry(), sleep: async () => {} });

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

const hmac = (body: Uint8Array, secret = APP_SECRET) => hmacHex('sha256', secret, body);
const signed = (body: Uint8Array) => ({ 'x-hub-signature-256': `sha256=${hmac(body)}` });

/** The handler's answer, with the invariants every answer must satisfy. */
const call = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const res = await handler(event);
  const status = res.statusCode ?? 0;
  expect(status === 200 || (status >= 400 && status < 500), `status ${status}: ${res.body}`).toBe(true);
  if (status >= 400) expect(String(res.body ?? '').trim().length).toBeGreaterThan(0);
  return res;
};

/** A rejected forged request must not have reached SQS. */
const expectRejectedWithoutSqs = async (event: APIGatewayProxyEventV2) => {
  const before = sqsCalls;
  const res = await call(event);
  expect([401, 403, 413]).toContain(res.statusCode);
  expect(sqsCalls).toBe(before);
};

// ——— generators ———

const id = fc.oneof(
  fc.stringMatching(/^[0-9]{1,20}$/),
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.constant(null),
  fc.boolean(),
);
const anything = fc.anything({ maxDepth: 3, withBigInt: false });
const metaLike = fc.record(
  {
    object: fc.oneof(fc.constant('page'), fc.constant('instagram'), anything),
    entry: fc.oneof(
      fc.array(
        fc.record(
          {
            id,
            time: fc.oneof(fc.integer(), fc.string(), fc.double()),
            messaging: fc.oneof(
              fc.array(
                fc.record(
                  {
                    sender: fc.oneof(fc.record({ id }), fc.record({ user_ref: id }), id),
                    recipient: fc.oneof(fc.record({ id }), id),
                    timestamp: fc.oneof(fc.integer(), fc.string(), fc.double(), fc.constant(null)),
                    message: fc.oneof(
                      fc.record(
                        {
                          mid: fc.oneof(fc.string(), anything),
                          text: fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), anything),
                          is_echo: fc.boolean(),
                          quick_reply: fc.oneof(fc.record({ payload: fc.string() }), anything),
                          attachments: fc.oneof(fc.array(anything, { maxLength: 3 }), anything),
                        },
                        { requiredKeys: [] },
                      ),
                      anything,
                    ),
                    postback: fc.oneof(fc.record({ payload: fc.string(), title: fc.string() }), anything),
                    reaction: anything,
                    read: anything,
                  },
                  { requiredKeys: [] },
                ),
                { maxLength: 4 },
              ),
              anything,
            ),
            standby: fc.oneof(fc.array(anything, { maxLength: 2 }), anything),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
      anything,
    ),
  },
  { requiredKeys: [] },
);
/** Valid-looking text messages with arbitrary unicode, so the deep path (respond, plan, enqueue) is fuzzed too. */
const digits = fc.stringMatching(/^[1-9][0-9]{5,16}$/);
const validish = fc.record({
  object: fc.constant('page'),
  entry: fc.array(
    fc.record({
      id: digits,
      time: fc.integer({ min: 1, max: 2 ** 47 }),
      messaging: fc.array(
        fc.record({
          sender: fc.record({ id: digits }),
          recipient: fc.record({ id: digits }),
          timestamp: fc.integer({ min: 1, max: 2 ** 47 }),
          message: fc.record({
            mid: fc.string({ minLength: 1, maxLength: 80 }),
            text: fc.string({ unit: 'binary', maxLength: 600 }),
          }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});
const bodyBytes = fc.oneof(
  validish.map((v) => Buffer.from(JSON.stringify(v))),
  metaLike.map((v) => Buffer.from(JSON.stringify(v))),
  fc.json().map((t) => Buffer.from(t)),
  fc.string({ unit: 'binary', maxLength: 400 }).map((t) => Buffer.from(t)),
  fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
  // Truncated Meta-shaped JSON (cut anywhere, including inside a multi-byte character).
  fc.tuple(metaLike, fc.nat()).map(([v, cut]) => {
    const b = Buffer.from(JSON.stringify(v));
    return b.subarray(0, b.length === 0 ? 0 : cut % b.length);
  }),
);

describe('webhook fuzzing (functions/webhook.ts)', () => {
  it('answers 200 or a 4xx with a reason for any correctly signed body (4,000 bodies)', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(bodyBytes, fc.boolean(), async (body, base64) => {
        const event = base64 ? postEventBase64(body, signed(body)) : postEvent(body, signed(body));
        // A text body travels as UTF-8: only bytes that survive that round trip keep their signature.
        const survives = base64 || Buffer.from(body.toString('utf8'), 'utf8').equals(body);
        const res = await call(event);
        if (survives && res.statusCode !== 200) expect([400, 413]).toContain(res.statusCode);
        if (res.statusCode === 200) accepted++;
      }),
      { numRuns: 4_000 },
    );
    // The generators must reach the deep paths too (parse, respond, plan, enqueue), not only rejects.
    expect(accepted).toBeGreaterThan(400);
    expect(sqsCalls).toBeGreaterThan(200);
  });

  it('never accepts a body whose signature is not its own HMAC (3,000 forged headers)', async () => {
    const forgedHeader = (body: Uint8Array) =>
      fc.oneof(
        fc.string(),
        fc
          .string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 64, maxLength: 64 })
          .map((h) => `sha256=${h}`),
        fc.constant(`sha256=${hmac(body, 'not-the-app-secret')}`),
        fc.constant(hubSignature(body, APP_SECRET, 'sha1')),
        fc.constant(hmac(body)), // no "sha256=" prefix
        fc.constant(`sha256=${hmac(body).slice(0, 63)}`),
        fc.constant(`sha256=${hmac(body)}00`),
        fc.nat({ max: 63 }).map((i) => {
          const good = hmac(body);
          const flipped = ((Number.parseInt(good[i]!, 16) + 1) % 16).toString(16);
          return `sha256=${good.slice(0, i)}${flipped}${good.slice(i + 1)}`;
        }),
      );
    await fc.assert(
      fc.asyncProperty(
        bodyBytes.chain((body) => fc.tuple(fc.constant(body), forgedHeader(body))),
        async ([body, header]) => {
          fc.pre(header.trim().toLowerCase() !== `sha256=${hmac(body)}`);
          await expectRejectedWithoutSqs(postEventBase64(body, { 'x-hub-signature-256': header }));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('rejects a signed body with one flipped bit in transit (2,000 base64 flips)', async () => {
    await fc.assert(
      fc.asyncProperty(
        metaLike.map((v) => Buffer.from(JSON.stringify(v))).filter((b) => b.length > 0),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        async (body, at, bit) => {
          const headers = signed(body);
          const tampered = Buffer.from(body);
          const i = at % tampered.length;
          tampered[i] = tampered[i]! ^ (1 << bit);
          await expectRejectedWithoutSqs(postEventBase64(tampered, headers));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('rejects unsigned, sha1-only and oversized requests with a reason before doing any work (1,000 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        bodyBytes,
        fc.constantFrom('none', 'sha1', 'empty', 'huge'),
        fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 50 }), { maxKeys: 4 }),
        async (body, mode, junkHeaders) => {
          const { 'x-hub-signature-256': _drop, ...headers } = Object.fromEntries(
            Object.entries(junkHeaders).map(([k, v]) => [k.toLowerCase(), v]),
          );
          if (mode === 'huge') {
            const big = Buffer.alloc(MAX_BODY + 1 + (body.length % 1024), 0x20);
            await expectRejectedWithoutSqs(postEventBase64(big, { ...headers, ...signed(big) }));
            return;
          }
          if (mode === 'sha1') headers['x-hub-signature'] = hubSignature(body, APP_SECRET, 'sha1');
          if (mode === 'empty') headers['x-hub-signature-256'] = '';
          await expectRejectedWithoutSqs(postEventBase64(body, headers));
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('answers GET verification with the challenge only for the right token (1,000 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant('fuzz-verify-token'), fc.string({ unit: 'binary', maxLength: 40 })),
        fc.oneof(fc.constant('subscribe'), fc.string({ maxLength: 12 })),
        fc.string({ unit: 'binary', maxLength: 40 }),
        async (token, mode, challenge) => {
          const query = new URLSearchParams({
            'hub.mode': mode,
            'hub.verify_token': token,
            'hub.challenge': challenge,
          });
          const res = await call({
            ...postEvent('', {}),
            rawQueryString: query.toString(),
            requestContext: {
              ...postEvent('', {}).requestContext,
              http: { ...postEvent('', {}).requestContext.http, method: 'GET' },
            },
          });
          const ok = token === 'fuzz-verify-token' && mode === 'subscribe' && challenge !== '';
          expect(res.statusCode === 200).toBe(ok);
          if (ok) expect(res.body).toBe(challenge);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('left no unhandled promise rejection behind', async () => {
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
  });
});
