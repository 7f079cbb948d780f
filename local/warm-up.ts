/**
 * Every function's cold start, run when the stack starts instead of on the first message: a bad variable
 * (RESPONDER=foo, PLAN_TIME_SCALE=abc, a RESPONDER_MODULE that does not import…) then stops `npm start`
 * naming it, instead of leaving the first user at seen + typing (the responder's batch would go back to
 * SQS until its 720 s visibility ends) or answering Meta 500. It is the handlers' own start-up
 * (lib/platform/runtime.ts lambdaHandler builds its deps once and keeps them), triggered by an invocation
 * that does nothing: an SQS batch of no records, a webhook GET without a query (answered 400/403).
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, SQSEvent } from 'aws-lambda';
import type { Telemetry } from '../lib/platform/telemetry.ts';
import type { SqsHandler } from './esm.ts';
import { apiGatewayEvent, type HttpApiHandler } from './http.ts';
import { lambdaContext } from './lambda-context.ts';

/** A function that could not start: its message names the function and the reason it gave. */
export class FunctionStartError extends Error {
  override name = 'FunctionStartError';
}

/**
 * The function's telemetry, remembering the last `error` attribute it logged: the webhook answers a failed
 * start with a bare 500 (Meta must learn nothing), so its reason is only in its log.
 */
export const rememberingErrors = (
  inner: Telemetry,
): { telemetry: Telemetry; lastError: () => string | undefined } => {
  let last: string | undefined;
  const error: Telemetry['log']['error'] = (message, attributes) => {
    if (typeof attributes?.error === 'string') last = attributes.error;
    inner.log.error(message, attributes);
  };
  return { telemetry: { ...inner, log: { ...inner.log, error } }, lastError: () => last };
};

const NO_RECORDS: SQSEvent = { Records: [] };

const contextFor = (name: string) => lambdaContext(name, randomUUID(), Date.now() + 30_000, Date.now);

/** Starts an SQS-triggered function; its start-up failure (a StartupError naming the variable) is rethrown. */
export const warmSqsFunction = async (name: string, handler: SqsHandler): Promise<void> => {
  try {
    await handler(NO_RECORDS, contextFor(name));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new FunctionStartError(`the ${name} function cannot start: ${why}`);
  }
};

const handshakeProbe = (): APIGatewayProxyEventV2 =>
  apiGatewayEvent(
    {
      method: 'GET',
      url: '/webhook',
      headers: {},
      body: new Uint8Array(),
      sourceIp: '127.0.0.1',
      protocol: 'HTTP/1.1',
    },
    'GET /webhook',
    Date.now(),
  );

/** Starts the webhook; a 500 to a query-less GET is its failed start (any other answer means it runs). */
export const warmWebhook = async (
  handler: HttpApiHandler,
  lastError: () => string | undefined,
): Promise<void> => {
  const result = await handler(handshakeProbe(), contextFor('webhook'));
  const status =
    typeof result === 'object' && result !== null && 'statusCode' in result ? result.statusCode : 200;
  if (status === 500)
    throw new FunctionStartError(`the webhook function cannot start: ${lastError() ?? 'see its log above'}`);
};
