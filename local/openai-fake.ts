/**
 * A local OpenAI-compatible Chat Completions endpoint: POST /v1/chat/completions on 127.0.0.1, streaming
 * Server-Sent Events as OpenAI does (chat.completion.chunk objects, then `data: [DONE]`; OpenAI API
 * reference, "Streaming"). Strict where OpenAI is: a bearer key (401 otherwise, echoing the key it got, the
 * worst case for a caller's redaction), a request body with known fields only (400 naming the field).
 * Records every call (body, chunks sent, whether the client hung up) and answers from a script: one-off
 * answers queued with `inject` first (errors, stalls, resets, delays), then `answer` (default: an echo).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import * as z from '../lib/platform/zod.ts';
import { type LoopbackServer, listenOnLoopback, readRawBody } from './http.ts';

export const chatRequestSchema = z.strictObject({
  model: z.string().check(z.minLength(1)),
  messages: z
    .array(
      z.strictObject({ role: z.enum(['system', 'developer', 'user', 'assistant']), content: z.string() }),
    )
    .check(z.minLength(1)),
  stream: z.literal(true),
  max_tokens: z.optional(z.number().check(z.int(), z.positive())),
  temperature: z.optional(z.number().check(z.minimum(0), z.maximum(2))),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

export type FakeAnswer = {
  /** Text deltas, one SSE chunk each. */
  chunks?: readonly string[];
  /** Before the response headers: longer than the client's timeout makes it time out. */
  headerDelayMs?: number;
  /** Before each chunk. */
  chunkDelayMs?: number;
  /** An OpenAI-shaped HTTP error instead of a stream. */
  error?: { status: number; message: string; type?: string; code?: string };
  /** Destroys the connection after this many chunks (a reset mid-stream). */
  dropAfterChunks?: number;
};

export type OpenAiCall = {
  seq: number;
  at: number;
  authorization: string | undefined;
  body: unknown;
  request?: ChatRequest;
  status: number;
  chunksSent: number;
  /** The client closed the connection before the stream ended (an abort). */
  aborted: boolean;
};

export type OpenAiFakeOptions = {
  apiKey: string;
  port?: number;
  answer?: (request: ChatRequest) => FakeAnswer;
};

export type OpenAiFake = LoopbackServer & {
  /** What a client uses as its base URL (…/v1). */
  baseUrl: string;
  calls: OpenAiCall[];
  inject: (...answers: FakeAnswer[]) => void;
};

/** The default script: a three-paragraph answer that quotes the user and counts what it remembers. */
export const echoAnswer = (request: ChatRequest): FakeAnswer => {
  const users = request.messages.filter((m) => m.role === 'user');
  const last = users.at(-1)?.content ?? '';
  const text =
    `You wrote: “${last}”.\n\n` +
    'I am the local fake LLM, streaming this answer a few words at a time, paragraph by paragraph.\n\n' +
    `I remember ${users.length - 1} earlier message${users.length === 2 ? '' : 's'} from you.`;
  // ~1 s to the first token and ~25 words/s after it: a small hosted model's pace, so typing shows.
  return { chunks: text.match(/\S+\s*/g) ?? [], headerDelayMs: 1000, chunkDelayMs: 40 };
};

type FakeError = NonNullable<FakeAnswer['error']>;

const sendError = (res: ServerResponse, { status, ...error }: FakeError) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { type: 'invalid_request_error', code: null, param: null, ...error } }));
};

const chunkOf = (model: string, seq: number, delta: object, finish: string | null): string =>
  `data: ${JSON.stringify({
    id: `chatcmpl-fake-${seq}`,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  })}\n\n`;

/** Answers one valid request with the scripted stream, stopping when the client hangs up. */
const stream = async (res: ServerResponse, call: OpenAiCall, request: ChatRequest, answer: FakeAnswer) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const [i, content] of (answer.chunks ?? []).entries()) {
    if (answer.chunkDelayMs) await sleep(answer.chunkDelayMs);
    if (call.aborted) return;
    if (answer.dropAfterChunks === i) return void res.destroy();
    res.write(chunkOf(request.model, call.seq, i === 0 ? { role: 'assistant', content } : { content }, null));
    call.chunksSent++;
  }
  if (call.aborted) return;
  res.end(`${chunkOf(request.model, call.seq, {}, 'stop')}data: [DONE]\n\n`);
};

const parseBody = (raw: Buffer): unknown => {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
};

const describeIssues = (error: z.core.$ZodError): string =>
  error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');

/** What OpenAI answers before reading a request any further: a wrong path, key or body; else the request. */
const checkRequest = (
  req: IncomingMessage,
  body: unknown,
  apiKey: string,
): { error: FakeError } | { request: ChatRequest } => {
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions')
    return { error: { status: 404, message: `Unknown request URL: ${req.method} ${req.url}` } };
  if (req.headers.authorization !== `Bearer ${apiKey}`) {
    const received = req.headers.authorization?.replace(/^Bearer /, '');
    return {
      error: { status: 401, message: `Incorrect API key provided: ${received}`, code: 'invalid_api_key' },
    };
  }
  const parsed = chatRequestSchema.safeParse(body);
  if (!parsed.success)
    return { error: { status: 400, message: `Invalid request: ${describeIssues(parsed.error)}` } };
  return { request: parsed.data };
};

/** Records the call; answers with the next injected answer, else the script's, or with the request's error. */
const answerCall = async (
  req: IncomingMessage,
  res: ServerResponse,
  state: {
    calls: OpenAiCall[];
    queued: FakeAnswer[];
    script: (r: ChatRequest) => FakeAnswer;
    apiKey: string;
  },
): Promise<void> => {
  const body = parseBody(await readRawBody(req));
  const call: OpenAiCall = {
    ...{ seq: state.calls.length + 1, at: Date.now(), authorization: req.headers.authorization, body },
    ...{ status: 200, chunksSent: 0, aborted: false },
  };
  state.calls.push(call);
  res.on('close', () => {
    if (!res.writableFinished) call.aborted = true;
  });
  const reject = (error: FakeError) => {
    call.status = error.status;
    sendError(res, error);
  };
  const checked = checkRequest(req, body, state.apiKey);
  if ('error' in checked) return reject(checked.error);
  call.request = checked.request;
  const answer = state.queued.shift() ?? state.script(checked.request);
  if (answer.headerDelayMs) await sleep(answer.headerDelayMs);
  if (call.aborted) return;
  if (answer.error) return reject(answer.error);
  await stream(res, call, checked.request, answer);
};

export const startOpenAiFake = async (options: OpenAiFakeOptions): Promise<OpenAiFake> => {
  const state = {
    calls: [] as OpenAiCall[],
    queued: [] as FakeAnswer[],
    script: options.answer ?? echoAnswer,
  };
  const server = createServer((req, res) => {
    answerCall(req, res, { ...state, apiKey: options.apiKey }).catch(() => res.destroy());
  });
  const loopback = await listenOnLoopback(server, options.port, {
    name: 'local OpenAI fake',
    portVariable: 'ELLIPSIS_LLM_PORT',
  });
  return {
    ...loopback,
    baseUrl: `${loopback.url}/v1`,
    calls: state.calls,
    inject: (...answers) => state.queued.push(...answers),
  };
};
