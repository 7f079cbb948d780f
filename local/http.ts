/**
 * A local HTTP API: node:http on 127.0.0.1 turning each request into an API Gateway HTTP API
 * (payload format 2.0) event for the Lambda handler, and its result back into a response.
 *
 * As API Gateway does (AWS API Gateway Developer Guide, "Working with AWS Lambda proxy integrations for
 * HTTP APIs"): header names lower-cased and repeated headers comma-joined, cookies split out,
 * rawQueryString + queryStringParameters (repeats comma-joined), text bodies as UTF-8 and other bodies
 * base64 with isBase64Encoded; a result without statusCode is a 200 JSON body; a thrown error is
 * 500 {"message":"Internal Server Error"}; an unmatched route 404 {"message":"Not Found"}; the 30 s
 * integration timeout is 503. Differences: no custom domain/stage mapping, no 10 MB payload quota
 * (node's default limits apply), requestContext ids are local.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.ts';

export type HttpApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

/** A Lambda route, like serverless.yml's `httpApi: { method, path }`. */
export type LambdaRoute = { method: string; path: string; handler: HttpApiHandler };

/** A plain local route (chat UI, SSE, helpers): returns false when it did not handle the request. */
export type LocalRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

export type HttpApiOptions = {
  port?: number;
  routes: LambdaRoute[];
  local?: LocalRoute[];
  /** API Gateway's integration timeout (30 s). */
  timeoutMs?: number;
  now?: () => number;
  onError?: (error: unknown) => void;
};

export type HttpApi = LoopbackServer;

const TEXT_TYPES = /^(text\/|application\/(json|javascript|xml|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

export const readRawBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

const joinedHeaders = (req: IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') continue;
    out[name] = name in out ? `${out[name]},${value}` : value;
  }
  return out;
};

/** A request as API Gateway has read it: header names lower-case, repeats comma-joined, cookies apart. */
export type ApiGatewayRequest = {
  method: string;
  /** Path and query string, as on the request line. */
  url: string;
  headers: Record<string, string>;
  cookies?: string[] | undefined;
  body: Uint8Array;
  sourceIp: string;
  protocol: string;
  /** true/false forces the body encoding (binary media types); unset, the content type decides. */
  base64?: boolean;
};

/** The payload 2.0 `requestContext`: a fresh request id, the caller as API Gateway saw it. */
const requestContextOf = (
  request: ApiGatewayRequest,
  path: string,
  routeKey: string,
  now: number,
): APIGatewayProxyEventV2['requestContext'] => ({
  accountId: '000000000000',
  apiId: 'local',
  domainName: request.headers.host ?? '127.0.0.1',
  domainPrefix: (request.headers.host ?? '127').split('.')[0] ?? 'local',
  http: {
    method: request.method,
    path,
    protocol: request.protocol,
    sourceIp: request.sourceIp,
    userAgent: request.headers['user-agent'] ?? '',
  },
  requestId: randomUUID(),
  routeKey,
  stage: '$default',
  time: new Date(now).toUTCString(),
  timeEpoch: now,
});

/** The payload 2.0 event API Gateway hands the Lambda for `request` on the route `routeKey`. */
export const apiGatewayEvent = (
  request: ApiGatewayRequest,
  routeKey: string,
  now: number,
): APIGatewayProxyEventV2 => {
  const url = new URL(request.url, 'http://local');
  const { headers, cookies } = request;
  const rawBody = Buffer.from(request.body);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const isText =
    request.base64 === undefined ? TEXT_TYPES.test(headers['content-type'] ?? '') : !request.base64;
  const path = url.pathname;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: url.search.slice(1),
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: requestContextOf(request, path, routeKey, now),
    ...(rawBody.length > 0 ? { body: isText ? rawBody.toString('utf8') : rawBody.toString('base64') } : {}),
    isBase64Encoded: rawBody.length > 0 && !isText,
  };
};

export const toApiGatewayEvent = (
  req: IncomingMessage,
  rawBody: Buffer,
  routeKey: string,
  now: number,
): APIGatewayProxyEventV2 =>
  apiGatewayEvent(
    {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: joinedHeaders(req),
      cookies: req.headers.cookie
        ?.split(';')
        .map((c) => c.trim())
        .filter(Boolean),
      body: rawBody,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      protocol: `HTTP/${req.httpVersion}`,
    },
    routeKey,
    now,
  );

export const writeApiGatewayResult = (res: ServerResponse, result: APIGatewayProxyResultV2): void => {
  if (
    typeof result === 'string' ||
    typeof result !== 'object' ||
    result === null ||
    !('statusCode' in result)
  ) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (result.cookies && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  res.writeHead(result.statusCode ?? 200, headers);
  const body = result.body ?? '';
  res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
};

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** A local server listening on 127.0.0.1: its base URL, its port, and a stop that also ends kept-alive sockets. */
export type LoopbackServer = { url: string; port: number; stop: () => Promise<void> };

/**
 * Listens on 127.0.0.1 (port 0 or unset: a free one). A port already taken fails with a message naming the
 * server and the variable that moves it, instead of a bare EADDRINUSE.
 */
export const listenOnLoopback = async (
  server: Server,
  port: number | undefined,
  what: { name: string; portVariable: string },
): Promise<LoopbackServer> => {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`${what.name}: port ${port} on 127.0.0.1 is already in use (set ${what.portVariable})`)
          : error,
      ),
    );
    server.listen(port ?? 0, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

/**
 * One request on a matched route, as API Gateway runs it: the handler under the integration timeout (503
 * past it, as API Gateway's 30 s limit answers), a thrown error as a bare 500.
 */
const invokeRoute = async (
  route: LambdaRoute,
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpApiOptions,
): Promise<void> => {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const rawBody = await readRawBody(req);
  const started = now();
  const event = toApiGatewayEvent(req, rawBody, `${route.method} ${route.path}`, started);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const result = await Promise.race([
      route.handler(event, lambdaContext('webhook', randomUUID(), started + timeoutMs, now)),
      timeout,
    ]);
    if (result === 'timeout') return json(res, 503, { message: 'Service Unavailable' });
    writeApiGatewayResult(res, result);
  } catch (error) {
    options.onError?.(error);
    json(res, 500, { message: 'Internal Server Error' });
  } finally {
    clearTimeout(timer);
  }
};

export const startHttpApi = async (options: HttpApiOptions): Promise<HttpApi> => {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const route = options.routes.find((r) => r.method === req.method && r.path === url.pathname);
    if (route) return invokeRoute(route, req, res, options);
    for (const local of options.local ?? []) if (await local(req, res, url)) return;
    json(res, 404, { message: 'Not Found' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.onError?.(error);
      if (!res.headersSent) json(res, 500, { message: 'Internal Server Error' });
      else res.end();
    });
  });
  return listenOnLoopback(server, options.port, { name: 'local HTTP API', portVariable: 'ELLIPSIS_PORT' });
};
