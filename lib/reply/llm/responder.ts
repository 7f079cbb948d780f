/**
 * The LLM responder: this turn's messages and the remembered turns go to a streamed Chat Completion, and
 * each paragraph of the answer is yielded as its own text reply the moment it is complete, so the user sees
 * the first bubble typed while the model still writes the next. The turn is remembered once fully answered.
 */
import type { Log } from '../../platform/telemetry.ts';
import type { InboundEvent } from '../../queue/inbound.ts';
import type { Reply } from '../reply.ts';
import { bubbleSplitter } from './bubbles.ts';
import type { Complete } from './completion.ts';
import {
  boundHistory,
  type ConversationStore,
  type ConversationTurn,
  conversationKey,
} from './conversation.ts';
import { chatMessages, userTextOf } from './prompt.ts';

// The responder interface of issue #12, structurally identical to lib/reply/responder.ts's once it lands there.
export type TurnContext = { events: readonly InboundEvent[]; signal: AbortSignal };
export type ResponderOutput = readonly Reply[] | AsyncIterable<Reply>;
export type Responder = (
  event: InboundEvent,
  turn: TurnContext,
) => Promise<ResponderOutput> | ResponderOutput;

export type LlmResponderDeps = {
  complete: Complete;
  conversations: ConversationStore;
  systemPrompt: string;
  maxBubbleChars: number;
  historyTurns: number;
  historyMaxBytes: number;
  now: () => number;
  log: Pick<Log, 'warn'>;
};

const textReply = (text: string): Reply => ({ message: { text } });

/** Memory is best effort: without it the user still gets an answer, only a less informed one. */
const remembered = async (deps: LlmResponderDeps, key: string): Promise<ConversationTurn[]> => {
  if (deps.historyTurns === 0) return [];
  try {
    return await deps.conversations.load(key);
  } catch (error) {
    deps.log.warn('LLM conversation memory unreadable: answering without it', { error: errorName(error) });
    return [];
  }
};

const remember = async (deps: LlmResponderDeps, key: string, turns: ConversationTurn[]): Promise<void> => {
  if (deps.historyTurns === 0) return;
  try {
    await deps.conversations.save(key, boundHistory(turns, deps.historyTurns, deps.historyMaxBytes));
  } catch (error) {
    deps.log.warn('LLM conversation memory not saved: the next turn will not see this one', {
      error: errorName(error),
    });
  }
};

/** Names only: a store's message may quote the item, which holds what the user wrote. */
const errorName = (error: unknown): string => (error instanceof Error ? error.name : 'unknown');

async function* answer(deps: LlmResponderDeps, key: string, userText: string, signal: AbortSignal) {
  const history = await remembered(deps, key);
  const splitter = bubbleSplitter(deps.maxBubbleChars);
  let said = '';
  for await (const delta of deps.complete(chatMessages(deps.systemPrompt, history, userText), signal)) {
    said += delta;
    for (const bubble of splitter.push(delta)) yield textReply(bubble);
  }
  for (const bubble of splitter.end()) yield textReply(bubble);
  // Only a turn answered to its end is remembered: an aborted or failed one is retried or replaced.
  if (said.trim() !== '')
    await remember(deps, key, [...history, { user: userText, assistant: said.trim(), at: deps.now() }]);
}

export const llmResponder =
  (deps: LlmResponderDeps): Responder =>
  (event, turn) => {
    const userText = userTextOf(turn.events.length > 0 ? turn.events : [event]);
    // Reactions, opt-ins and the like ask for no answer: no model call, nothing remembered.
    if (userText === '') return [];
    return answer(deps, conversationKey(event.pageId, event.psid), userText, turn.signal);
  };
