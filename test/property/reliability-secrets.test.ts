/**
 * Secrets never leak: with real-looking secrets configured (a 32-hex app secret, an EAA… page token, a
 * verify token), every path of the webhook and the sender — including handshake failures, forged and
 * malformed bodies, enqueue failures, responder crashes, config and SSM errors, Graph errors that echo
 * the token and the URL, timeouts, resets, refused connections and poison messages — runs with the real
 * Powertools telemetry. Everything written to stdout/stderr (logs and EMF metrics), every response body
 * and every thrown error message is searched for each secret, its URL-encoded form, the appsecret_proof,
 * and any 12-character piece of them (a truncated secret is still a leak).
 */
import { randomBytes } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeSenderHandler } from '../../functions/sender.ts';
import { makeHandler as makeWebhookHandler } from '../../functions/webhook.ts';
import { encodeStep } from '../../lib/queue/codec.ts';
import { type Fault, startGraphFake } from '../../local/graph-fake.ts';
import { batchedWebhookBody, postEvent, postEventBase64, signatureOf, usersBatch } from '../../local/meta.ts';
import { queuedStep } from '../support/factories.ts';
import { appSecretProofOf } from '../support/signing.ts';

const APP_SECRET = randomBytes(16).toString('hex');
const PAGE_TOKEN = `EAAG${randomBytes(140).toString('base64url').slice(0, 180)}`;
const VERIFY_TOKEN = `vt_${randomBytes(24).toString('base64url')}`;
const PROOF = appSecretProofOf(PAGE_TOKEN, APP_SECRET);
const SECRETS = { APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, PROOF };

/** Every 12-character window of every secret (and its URL-encoded form). */
const needles = Object.entries(SECRETS).flatMap(([name, value]) =>
  [value, encodeURIComponent(value)].flatMap((v) =>
    Array.from({ length: v.length - 11 }, (_, i) => ({ name, piece: v.slice(i, i + 12) })),
  ),
);
const leaksIn = (text: string) => needles.filter((n) => text.includes(n.piece)).map((n) => n.name);

const captured: string[] = [];
const originals = {
  out: process.stdout.write.bind(process.stdout),
  err: process.stderr.write.bind(process.stderr),
};
const capture =
  (original: typeof process.stdout.write) =>
  (chunk: unknown, ...rest: unknown[]): boolean => {
    captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return (original as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
  };
const consoleMethods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
const savedConsole = Object.fromEntries(consoleMethods.map((m) => [m, console[m]]));
beforeAll(() => {
  process.stdout.write = capture(originals.out) as typeof process.stdout.write;
  process.stderr.write = capture(originals.err) as typeof process.stderr.write;
  for (const m of consoleMethods)
    console[m] = (...args: unknown[]) => captured.push(args.map(String).join(' '));
});
afterAll(() => {
  process.stdout.write = originals.out;
  process.stderr.write = originals.err;
  for (const m of consoleMethods) console[m] = savedConsole[m]!;
});

/** Everything a caller can see besides the logs: answers and thrown messages. */
const surfaced: string[] = [];
const observe = async <T>(run: () => Promise<T>): Promise<T | undefined> => {
  try {
    const out = await run();
    surfaced.push(JSON.stringify(out));
    return out;
  } catch (error) {
    surfaced.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    return undefined;
  }
};

/** Where a test's own output starts, so each test checks what it produced instead of leaving it to a later one. */
const mark = () => ({ logs: captured.length, surfaced: surfaced.length });
const expectNoLeakSince = (from: ReturnType<typeof mark>) => {
  const logText = captured.slice(from.logs).join('\n');
  expect(logText).toMatch(/"level"|"_aws"/); // the paths did log: Powertools JSON logs / EMF metrics
  expect(leaksIn(logText)).toEqual([]);
  expect(leaksIn(surfaced.slice(from.surfaced).join('\n'))).toEqual([]);
};
const statusOf = (out: unknown) => (out as { statusCode?: number } | undefined)?.statusCode;

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/ellipsis-steps.fifo';
const sign = (body: Uint8Array) => signatureOf(body, APP_SECRET);

/** An SQS stand-in: accepts, or fails with an SDK-like error that echoes the request (the worst case). */
const sqsStub = (fail: boolean) =>
  ({
    send: async (command: unknown) => {
      if (fail) {
        throw Object.assign(new Error(`Rejected request with secret ${APP_SECRET} and token ${PAGE_TOKEN}`), {
          name: 'InvalidParameterValue',
          $fault: 'client',
        });
      }
      if (command instanceof SendMessageBatchCommand) {
        return {
          Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: 'x' })),
          Failed: [],
        };
      }
      if (command instanceof ChangeMessageVisibilityCommand || command instanceof SendMessageCommand)
        return {};
      return {};
    },
  }) as unknown as SQSClient;

describe('no secret in any output, on every path', () => {
  it('webhook: handshake, signed, forged, malformed, oversized, enqueue failure, responder crash, config and SSM errors', async () => {
    const from = mark();
    const env = {
      QUEUE_URL,
      RESPONDER_QUEUE_URL: QUEUE_URL,
      META_APP_SECRET: APP_SECRET,
      META_VERIFY_TOKEN: VERIFY_TOKEN,
      PLAN_TIME_SCALE: '0.01',
      WEBHOOK_MAX_BODY_BYTES: '4096',
    };
    const ok = makeWebhookHandler(env, { sqs: sqsStub(false), sleep: async () => {} });
    const failing = makeWebhookHandler(env, { sqs: sqsStub(true), sleep: async () => {} });
    const crashing = makeWebhookHandler(env, {
      sqs: sqsStub(false),
      planPrelude: () => {
        throw new Error(`planner saw ${APP_SECRET} / ${VERIFY_TOKEN}`);
      },
    });
    const get = (query: string) => ({
      ...postEvent('', {}),
      rawQueryString: query,
      requestContext: {
        ...postEvent('', {}).requestContext,
        http: { ...postEvent('', {}).requestContext.http, method: 'GET' },
      },
    });
    const body = batchedWebhookBody(usersBatch(3));
    const junk = Buffer.from(`{"object":"page","entry":[${APP_SECRET}`);
    const huge = Buffer.alloc(5000, APP_SECRET);
    const requests = [
      get(`hub.mode=subscribe&hub.verify_token=${encodeURIComponent(VERIFY_TOKEN)}&hub.challenge=c1`),
      get(`hub.mode=subscribe&hub.verify_token=${encodeURIComponent(`${VERIFY_TOKEN}x`)}&hub.challenge=c2`),
      postEvent(body, { 'x-hub-signature-256': sign(body) }),
      postEvent(body, { 'x-hub-signature-256': `sha256=${PROOF}` }),
      postEvent(body, { 'x-hub-signature': `sha1=${APP_SECRET}` }),
      postEventBase64(junk, { 'x-hub-signature-256': sign(junk) }),
      postEventBase64(huge, { 'x-hub-signature-256': sign(huge) }),
    ];
    const statuses: Record<string, (number | undefined)[]> = {};
    for (const [name, h] of Object.entries({ ok, failing, crashing })) {
      statuses[name] = [];
      for (const request of requests) statuses[name].push(statusOf(await observe(() => h(request))));
    }
    // Missing configuration, and SSM parameters that fail with an error echoing the value.
    const noQueue = makeWebhookHandler({ META_APP_SECRET: APP_SECRET, META_VERIFY_TOKEN: VERIFY_TOKEN });
    const noQueueStatus = statusOf(
      await observe(() => noQueue(postEvent(body, { 'x-hub-signature-256': sign(body) }))),
    );
    const ssm = makeWebhookHandler(
      {
        QUEUE_URL,
        META_APP_SECRET_PARAM: '/ellipsis/dev/app-secret',
        META_VERIFY_TOKEN_PARAM: '/ellipsis/dev/verify-token',
      },
      {
        fetchParameter: async (name) => {
          if (name.endsWith('app-secret')) throw new Error(`AccessDenied: value ${APP_SECRET} not readable`);
          return VERIFY_TOKEN;
        },
      },
    );
    const ssmStatus = statusOf(
      await observe(() => ssm(postEvent(body, { 'x-hub-signature-256': sign(body) }))),
    );
    // Each path answered as designed (handshake, wrong verify token, signed, forged, sha1 only, malformed,
    // oversized); a failed enqueue is a 5xx so that Meta re-delivers; missing config and SSM failures are 5xx.
    const answers = [200, 403, 200, 403, 401, 400, 413];
    expect(statuses).toEqual({ ok: answers, failing: answers.with(2, 500), crashing: answers });
    expect([noQueueStatus, ssmStatus]).toEqual([500, 500]);
    expectNoLeakSince(from);
  });

  it('sender: Graph errors echoing the token and URL, expired token, timeouts, resets, refused connections, poison', async () => {
    const from = mark();
    const graph = await startGraphFake({ appSecret: APP_SECRET, accessToken: PAGE_TOKEN });
    const echo: Fault = {
      status: 400,
      body: {
        error: {
          message: `Invalid parameter at https://graph.facebook.com/v25.0/me/messages?access_token=${PAGE_TOKEN}&appsecret_proof=${PROOF} (token ${PAGE_TOKEN.slice(0, 60)}…)`,
          type: 'OAuthException',
          code: 100,
          error_user_msg: PAGE_TOKEN,
          fbtrace_id: 'Secrets',
        },
      },
    };
    const expired: Fault = {
      status: 400,
      body: {
        error: {
          message: `Error validating access token ${PAGE_TOKEN}: Session has expired`,
          type: 'OAuthException',
          code: 190,
          error_subcode: 463,
        },
      },
    };
    const transientEcho: Fault = { status: 500, body: `upstream said ${APP_SECRET} ${PAGE_TOKEN}` };
    graph.inject({ psid: 'echo' }, echo);
    graph.inject({ psid: 'expired' }, expired);
    graph.inject({ psid: 'transient' }, transientEcho);
    graph.inject({ psid: 'slow' }, { delayMs: 600 });
    graph.inject({ psid: 'reset' }, { drop: true });
    const base = {
      QUEUE_URL,
      DLQ_URL: `${QUEUE_URL.replace('steps', 'steps-dlq')}`,
      META_APP_SECRET: APP_SECRET,
      META_PAGE_ACCESS_TOKEN: PAGE_TOKEN,
      GRAPH_TIMEOUT_MS: '300',
    };
    const sender = makeSenderHandler({ ...base, GRAPH_API_URL: graph.url }, { sqs: sqsStub(false) });
    const refused = makeSenderHandler(
      { ...base, GRAPH_API_URL: 'http://127.0.0.1:9' },
      { sqs: sqsStub(false) },
    );
    const failingSqs = makeSenderHandler({ ...base, GRAPH_API_URL: graph.url }, { sqs: sqsStub(true) });
    const now = Date.now();
    const record = (psid: string, body?: string, receiveCount = 1) => {
      const step = queuedStep({
        pageId: '104729348572910',
        psid,
        sequenceId: `m_secret_${psid}`,
        count: 2,
        plannedAt: now,
        dueAt: now,
        action: { message: { text: `hello ${psid}` } },
      });
      return {
        messageId: `msg-${psid}-${receiveCount}`,
        receiptHandle: `rh-${psid}`,
        body: body ?? encodeStep(step),
        attributes: {
          ApproximateReceiveCount: String(receiveCount),
          SentTimestamp: String(now),
          SenderId: 'x',
          ApproximateFirstReceiveTimestamp: String(now),
          MessageGroupId: `104729348572910:${psid}`,
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:ellipsis-steps.fifo',
        awsRegion: 'us-east-1',
      };
    };
    const event = (...records: ReturnType<typeof record>[]): SQSEvent => ({ Records: records });
    /** The message ids a batch handed back to SQS for a retry, or the error it threw. */
    const kept = (out: unknown) =>
      out === undefined
        ? 'threw'
        : (out as { batchItemFailures: { itemIdentifier: string }[] }).batchItemFailures.map(
            (f) => f.itemIdentifier,
          );
    const outcomes: Record<string, unknown> = {};
    for (const psid of ['ok', 'echo', 'expired', 'transient', 'slow', 'reset'])
      outcomes[psid] = kept(await observe(() => sender(event(record(psid)))));
    outcomes['transient-final'] = kept(
      await observe(() => sender(event(record('transient-final', undefined, 20)))),
    );
    outcomes.poison = kept(
      await observe(() =>
        sender(event(record('poison', `{"token":"${PAGE_TOKEN}","secret":"${APP_SECRET}"}`))),
      ),
    );
    outcomes.refused = kept(await observe(() => refused(event(record('refused')))));
    outcomes.failingSqs = kept(
      await observe(() => failingSqs(event(record('poison2', `not json ${APP_SECRET}`), record('deferred')))),
    );
    const noSecret = makeSenderHandler({ QUEUE_URL, GRAPH_API_URL: graph.url, META_APP_SECRET: APP_SECRET });
    outcomes.noSecret = kept(await observe(() => noSecret(event(record('x')))));
    await graph.stop();
    // Each path ended as designed: permanent errors drop the step, transient ones (5xx, refused connection)
    // hand it back to SQS, a message whose outcome is unknown (timeout, reset: it may have reached Meta) is
    // not retried, a poison body goes to the DLQ (kept when the DLQ cannot be written), and a sender without
    // its page token fails the invocation.
    expect(outcomes).toEqual({
      ok: [],
      echo: [],
      expired: [],
      transient: ['msg-transient-1'],
      slow: [],
      reset: [],
      'transient-final': [],
      poison: [],
      refused: ['msg-refused-1'],
      failingSqs: ['msg-poison2-1'],
      noSecret: 'threw',
    });
    expect(graph.calls.map((c) => c.psid)).toEqual(
      expect.arrayContaining(['ok', 'echo', 'expired', 'transient', 'reset']),
    );
    expectNoLeakSince(from);
  });

  // Found by this suite: lib/meta/graph/client.ts used to truncate a Graph error message to 300 characters before
  // redacting it, so a token cut by the truncation no longer matched the redactor. It now redacts the raw body.
  it('a long Graph error message cut inside the token keeps no piece of it', async () => {
    const graph = await startGraphFake({ appSecret: APP_SECRET, accessToken: PAGE_TOKEN });
    graph.inject(
      { psid: 'long' },
      {
        status: 400,
        body: {
          error: {
            message: `${'Invalid parameter. '.repeat(14)}token ${PAGE_TOKEN}`,
            type: 'OAuthException',
            code: 100,
          },
        },
      },
    );
    const sender = makeSenderHandler(
      {
        QUEUE_URL,
        GRAPH_API_URL: graph.url,
        META_APP_SECRET: APP_SECRET,
        META_PAGE_ACCESS_TOKEN: PAGE_TOKEN,
      },
      { sqs: sqsStub(false) },
    );
    const from = captured.length;
    const now = Date.now();
    const step = queuedStep({
      pageId: '104729348572910',
      psid: 'long',
      sequenceId: 'm_secret_long',
      plannedAt: now,
      dueAt: now,
    });
    try {
      await sender({
        Records: [
          {
            messageId: 'long-1',
            receiptHandle: 'rh',
            body: encodeStep(step),
            attributes: {
              ApproximateReceiveCount: '1',
              SentTimestamp: String(now),
              SenderId: 'x',
              ApproximateFirstReceiveTimestamp: String(now),
              MessageGroupId: '104729348572910:long',
            },
            messageAttributes: {},
            md5OfBody: '',
            eventSource: 'aws:sqs',
            eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:ellipsis-steps.fifo',
            awsRegion: 'us-east-1',
          },
        ],
      });
    } finally {
      await graph.stop();
    }
    // Quarantined: the final check below covers every other path.
    const output = captured.splice(from).join('\n');
    expect(leaksIn(output)).toEqual([]);
  });

  it('found no secret, no URL-encoded secret, no proof and no 12-character piece of any of them, also between tests', () => {
    const logText = captured.join('\n');
    expect(logText).toMatch(/"level"|"_aws"/); // Powertools JSON logs / EMF metrics were captured
    expect(leaksIn(logText)).toEqual([]);
    expect(leaksIn(surfaced.join('\n'))).toEqual([]);
  });
});
