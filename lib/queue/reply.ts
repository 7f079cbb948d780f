/**
 * A reply is what a responder decides to say: a message (text, attachment, quick replies) or a reaction.
 * It is the Graph action itself, so a reply never needs translating; timing is the planner's business.
 */
import * as z from '../platform/zod.ts';
import { messageActionSchema, reactActionSchema, unreactActionSchema } from './step.ts';

export const replySchema = z.union([messageActionSchema, reactActionSchema, unreactActionSchema]);
export type Reply = z.infer<typeof replySchema>;
