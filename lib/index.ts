/**
 * The extension API: what code outside this repository may build on. Everything else in lib/ is internal
 * and may change. A responder is a function of an inbound event (and its turn) to replies; any module
 * exporting one runs under RESPONDER_MODULE without code changes (lib/responder/load.ts).
 */
export type { Responder, ResponderOutput, TurnContext } from './bots/responder.ts';
// The shape of a function: functions/*.ts `makeHandler(env, overrides)` with these overrides.
export type { SendOverrides } from './console/deps.ts';
export { type HandlerShape, lambdaHandler, type Startup } from './platform/runtime.ts';
export type { InboundEvent } from './queue/inbound.ts';
export { type Reply, replySchema } from './queue/reply.ts';
export type { ResponderOverrides } from './responder/deps.ts';
export type { SenderOverrides } from './sender/deps.ts';
export type { WebhookOverrides } from './webhook/deps.ts';
