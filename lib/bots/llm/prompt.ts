/**
 * What the model reads: the system prompt, the remembered turns (oldest first) and this turn's messages as
 * one user message. One message, not one per inbound event: several chat templates (Mistral's on vLLM, for
 * instance) reject two user messages in a row ("roles must alternate").
 */
import type { InboundEvent } from '../../queue/inbound.ts';
import type { ConversationTurn } from './conversation.ts';

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

/** An event as the user meant it, in words; '' for what deserves no answer (reactions, bare opt-ins). */
export const describeEvent = (event: InboundEvent): string => {
  if (event.kind === 'postback') return event.postback?.title ?? event.postback?.payload ?? '';
  if (event.kind !== 'message') return '';
  const parts = [event.text?.trim() ?? ''];
  for (const attachment of event.attachments) parts.push(`[sent ${attachment.type.toLowerCase()}]`);
  return parts.filter((p) => p !== '').join('\n');
};

/** This turn's messages, oldest first, one per line; '' when none of them asks for an answer. */
export const userTextOf = (events: readonly InboundEvent[]): string =>
  events
    .map(describeEvent)
    .filter((t) => t !== '')
    .join('\n');

export const chatMessages = (
  systemPrompt: string,
  history: readonly ConversationTurn[],
  userText: string,
): ChatMessage[] => [
  { role: 'system', content: systemPrompt },
  ...history.flatMap((t): ChatMessage[] => [
    { role: 'user', content: t.user },
    { role: 'assistant', content: t.assistant },
  ]),
  { role: 'user', content: userText },
];
