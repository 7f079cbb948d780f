/**
 * The LLM responder: this turn's messages and the remembered turns go to a streamed Chat Completion, and
 * each paragraph of the answer is yielded as its own text reply the moment it is complete, so the user sees
 * the first bubble typed while the model still writes the next. The turn is remembered as the user saw it.
 */
import type { Log } from '../../platform/telemetry.ts';
import type { Reply } from '../../queue/reply.ts';
import type { ObservedMessage, Responder } from '../responder.ts';
import { bubbleSplitter } from './bubbles.ts';
import type { Complete } from './completion.ts';
import {
  boundHistory,
  type ConversationStore,
  type ConversationTurn,
  conversationKey,
} from './conversation.ts';
import { chatMessages, userTextOf } from './prompt.ts';
import { withoutThinking } from './thinking.ts';

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
  const shown: string[] = [];
  try {
    const answerText = withoutThinking(
      deps.complete(chatMessages(deps.systemPrompt, history, userText), signal),
    );
    for await (const delta of answerText) {
      for (const bubble of splitter.push(delta)) {
        shown.push(bubble);
        yield textReply(bubble);
      }
    }
    for (const bubble of splitter.end()) {
      shown.push(bubble);
      yield textReply(bubble);
    }
  } finally {
    // The model remembers what the user saw. A turn that fails before its first bubble is retried by the
    // stage, so nothing is kept; one cut short later is never retried (a reply went out), so it is kept as
    // far as it went.
    if (shown.length > 0) {
      const turn = { user: userText, assistant: shown.join('\n\n'), at: deps.now() };
      await remember(deps, key, [...history, turn]);
    }
  }
}

/** Marks what a person said in the assistant's place: the model sees who answered, and never answers it. */
export const PERSON_PREFIX = '[a person of the business answered] ';

/** What was said while a person held the chat, as one remembered turn (context, never a turn to answer). */
export const observedTurn = (messages: readonly ObservedMessage[], at: number): ConversationTurn => ({
  user: messages
    .filter((m) => m.author === 'user')
    .map((m) => m.text)
    .join('\n'),
  assistant: messages
    .filter((m) => m.author === 'person')
    .map((m) => `${PERSON_PREFIX}${m.text}`)
    .join('\n'),
  at,
});

export const llmResponder = (deps: LlmResponderDeps): Responder => {
  const respond: Responder = (event, turn) => {
    const userText = userTextOf(turn.events.length > 0 ? turn.events : [event]);
    // Reactions, opt-ins and the like ask for no answer: no model call, nothing remembered.
    if (userText === '') return [];
    return answer(deps, conversationKey(event.pageId, event.psid), userText, turn.signal);
  };
  respond.observe = async (user, messages) => {
    if (messages.length === 0) return;
    const key = conversationKey(user.pageId, user.psid);
    const history = await remembered(deps, key);
    await remember(deps, key, [...history, observedTurn(messages, deps.now())]);
  };
  return respond;
};
