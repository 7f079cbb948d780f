/**
 * The responder decides WHAT Ellipsis says to an inbound event; the planner (lib/pacing/plan.ts) decides WHEN.
 * Any function of type `Responder` works (lib/responder/load.ts: RESPONDER_MODULE, RESPONDER), and the
 * bundled one is driven by rules (lib/bots/rules.ts) — the defaults, or a JSON file named by RESPONDER_RULES_FILE.
 */
import { readFileSync } from 'node:fs';
import { wordsIn } from '../pacing/words.ts';
import type { InboundEvent } from '../queue/inbound.ts';
import type { Reply } from '../queue/reply.ts';
import {
  defaultRules,
  parseRulesJson,
  type ReplyTemplate,
  type Rule,
  type Rules,
  RulesError,
} from './rules.ts';
import { wantsAnswer } from './wants-answer.ts';

export type TurnContext = {
  /** Every inbound message of this turn, oldest first; the `event` argument is the last one. */
  events: readonly InboundEvent[];
  /** Aborted when the configured maximum thinking time is reached. */
  signal: AbortSignal;
};

/** A list (today's responders keep working unchanged) or a stream: each reply is paced and sent as soon as it exists. */
export type ResponderOutput = readonly Reply[] | AsyncIterable<Reply>;

/** A message exchanged while a person held the chat: context for the next turns, never answered. */
export type ObservedMessage = { author: 'user' | 'person'; text: string; at: number };

/**
 * Decides what to say to a turn (lib/responder/turn.ts runs it off the webhook, in the responder function).
 * Zero replies = stay silent: the typing bubble the webhook started is switched off. `observe`, when a
 * responder has memory, is told what the user and a person of the business said while the person held the
 * chat (docs/takeover.md), so a later answer does not contradict them.
 */
export type Responder = ((
  event: InboundEvent,
  turn: TurnContext,
) => Promise<ResponderOutput> | ResponderOutput) & {
  observe?: (user: { pageId: string; psid: string }, messages: readonly ObservedMessage[]) => Promise<void>;
};

/**
 * Folds text for matching: lower case, compatibility forms (ﬁ → fi, full-width → ASCII), accents stripped
 * (é → e), curly apostrophes straightened — so "CAFÉ", "café" and "cafe" are the same word.
 */
export const foldText = (text: string): string =>
  text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[\u2018\u2019\u02bc]/g, "'");

/** The words of a text, folded (lib/pacing/words.ts). */
export const wordsOf = (text: string): string[] => wordsIn(foldText(text));

/** True when `phrase` (a word sequence) occurs in `haystack` as whole, consecutive words. */
const containsPhrase = (haystack: readonly string[], phrase: readonly string[]): boolean => {
  if (phrase.length === 0) return false;
  outer: for (let i = 0; i + phrase.length <= haystack.length; i++) {
    for (let j = 0; j < phrase.length; j++) if (haystack[i + j] !== phrase[j]) continue outer;
    return true;
  }
  return false;
};

type CompiledRule = {
  rule: Rule;
  phrases: string[][];
  attachmentTypes: 'any' | ReadonlySet<string> | undefined;
};

const refMatches = (matcher: true | readonly string[] | undefined, ref: string | undefined): boolean =>
  matcher === true || (matcher !== undefined && ref !== undefined && matcher.includes(ref));

const matches = (compiled: CompiledRule, event: InboundEvent, text: readonly string[]): boolean => {
  const { rule, phrases, attachmentTypes } = compiled;
  if (phrases.some((p) => containsPhrase(text, p))) return true;
  if (event.kind === 'postback' && event.postback?.payload !== undefined) {
    if (rule.postback?.includes(event.postback.payload)) return true;
  }
  if (event.quickReplyPayload !== undefined && rule.quickReply?.includes(event.quickReplyPayload))
    return true;
  if (attachmentTypes !== undefined && event.kind === 'message' && event.attachments.length > 0) {
    if (
      attachmentTypes === 'any' ||
      event.attachments.some((a) => attachmentTypes.has(a.type.toLowerCase()))
    ) {
      return true;
    }
  }
  if (event.kind === 'optin' && refMatches(rule.optin, event.optin?.ref)) return true;
  if (event.kind === 'referral' && refMatches(rule.referral, event.referral?.ref)) return true;
  return false;
};

/** `{ react }` becomes a react action on the inbound message; without a mid there is nothing to react to. */
const instantiate = (templates: readonly ReplyTemplate[], event: InboundEvent): Reply[] =>
  templates.flatMap((t): Reply[] => {
    if (!('react' in t)) return [t];
    if (event.mid === undefined || event.mid === '') return [];
    return [{ sender_action: 'react', payload: { message_id: event.mid, reaction: t.react } }];
  });

/** A responder from validated rules: first matching rule wins; else the fallback for real messages. */
/** A responder that needs only the event (the last of its turn): what every rules responder is. */
export type EventResponder = (event: InboundEvent) => Reply[];

export const rulesResponder = (rules: Rules): EventResponder => {
  const compiled: CompiledRule[] = rules.rules.map((rule) => ({
    rule,
    phrases: (rule.keywords ?? []).map(wordsOf).filter((p) => p.length > 0),
    attachmentTypes:
      rule.attachment === undefined || rule.attachment === 'any'
        ? rule.attachment
        : new Set(rule.attachment.map((t) => t.toLowerCase())),
  }));
  return (event) => {
    // Reactions (and anything not a message, postback, opt-in or referral) are never answered: a bot that
    // replies to a ❤ feels needy, and replying to our own reactions' echoes would loop.
    if (event.kind === 'reaction') return [];
    const text = event.kind === 'message' && event.text !== undefined ? wordsOf(event.text) : [];
    const hit = compiled.find((c) => matches(c, event, text));
    if (hit !== undefined) return instantiate(hit.rule.replies, event);
    return wantsAnswer(event) ? instantiate(rules.fallback, event) : [];
  };
};

let compiledDefaults: EventResponder | undefined;

/** The bundled default rules (lib/bots/rules.ts), validated and compiled on the first event. */
export const defaultResponder: EventResponder = (event) => {
  compiledDefaults ??= rulesResponder(defaultRules());
  return compiledDefaults(event);
};

/**
 * Reads and validates a JSON rules file (RESPONDER_RULES_FILE); without one, the defaults. Throws RulesError
 * naming the file and every broken field path — call it at cold start so a bad file fails loudly, once.
 */
export const loadRulesResponder = (rulesFile?: string): EventResponder => {
  if (rulesFile === undefined || rulesFile === '') return defaultResponder;
  let content: string;
  try {
    content = readFileSync(rulesFile, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new RulesError(`cannot read rules file ${rulesFile} (${code})`);
  }
  return rulesResponder(parseRulesJson(content, `rules file ${rulesFile}`));
};
