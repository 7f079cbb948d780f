/**
 * Conversation memory: the last turns of each user (account + user), so the model knows what was said. A
 * turn is what the user wrote in one responder turn and what the model answered. Kept in the state table
 * (lib/platform/ledger.ts) under `conv:` keys with a TTL, or per-process memory for tests and the local stack.
 */
import { type JsonStore, keyOf, memoryJsonStore } from '../../platform/ledger.ts';
import * as z from '../../platform/zod.ts';

export const conversationTurnSchema = z.object({ user: z.string(), assistant: z.string(), at: z.number() });
export type ConversationTurn = z.infer<typeof conversationTurnSchema>;
export const conversationSchema = z.array(conversationTurnSchema);

export type ConversationStore = {
  /** The remembered turns, oldest first; [] when none, or when they have expired. */
  load: (key: string) => Promise<ConversationTurn[]>;
  /** Replaces the remembered turns and restarts their TTL. */
  save: (key: string, turns: readonly ConversationTurn[]) => Promise<void>;
};

/** One conversation per (account, user): the account id is the Page / Instagram / WhatsApp number id. */
export const conversationKey = (pageId: string, psid: string): string => keyOf('conv', pageId, psid);

export const historyBytes = (turns: readonly ConversationTurn[]): number =>
  Buffer.byteLength(JSON.stringify(turns), 'utf8');

/** Keeps the start of a text within `units` UTF-16 units, without leaving half an emoji. */
const truncate = (text: string, units: number): string => {
  const cut = text.slice(0, units);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
};

/**
 * The newest `maxTurns` turns that fit in `maxBytes` of JSON (oldest dropped first). A single turn too large
 * on its own keeps the start of each text: a JSON character costs at most 6 bytes (a \u escape), so 12 bytes
 * per kept unit of both texts plus 64 for the frame always fit.
 */
export const boundHistory = (
  turns: readonly ConversationTurn[],
  maxTurns: number,
  maxBytes: number,
): ConversationTurn[] => {
  if (maxTurns <= 0) return [];
  let kept = turns.slice(-maxTurns);
  while (kept.length > 1 && historyBytes(kept) > maxBytes) kept = kept.slice(1);
  const only = kept[0];
  if (kept.length === 1 && only !== undefined && historyBytes(kept) > maxBytes) {
    const units = Math.max(0, Math.floor((maxBytes - 64) / 12));
    kept = [{ ...only, user: truncate(only.user, units), assistant: truncate(only.assistant, units) }];
  }
  return kept;
};

/**
 * Conversation memory over any JsonStore: an unremembered (or unreadable) conversation is no turns. An item
 * written by another version in another shape is forgotten, not fatal: the user still gets an answer.
 */
export const conversationsIn = (store: JsonStore<ConversationTurn[]>): ConversationStore => ({
  load: async (key) => (await store.load(key)) ?? [],
  save: (key, turns) => store.save(key, [...turns]),
});

/** Per-process memory with the same TTL; the oldest conversations go first beyond `maxEntries`. */
export const memoryConversations = (
  options: { ttlMs: number; now?: () => number; maxEntries?: number } = { ttlMs: 604_800_000 },
): ConversationStore => conversationsIn(memoryJsonStore(options));
