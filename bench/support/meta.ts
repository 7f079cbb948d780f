/**
 * Meta-shaped webhook bodies for benches and reliability tests: `n` text messages from `n` users (or a
 * chosen user set), signed like Meta signs them (X-Hub-Signature-256 over the exact bytes).
 */
import { createHmac } from 'node:crypto';

export const PAGE_ID = '104729348572910';

export const psidOf = (user: number): string => `${7_700_000_000_000_000 + user}`;

const TEXTS = [
  'hi',
  'Hello, do you deliver on Saturdays?',
  'What are your opening hours?',
  'price',
  'Merci beaucoup 🙏 à bientôt',
  'I ordered last week and nothing arrived yet, can you check order 4411?',
];

export type MessageSpec = { user: number; seq: number; text?: string };

export const messagingItem = ({ user, seq, text }: MessageSpec, at: number) => ({
  sender: { id: psidOf(user) },
  recipient: { id: PAGE_ID },
  timestamp: at,
  message: { mid: `m_bench_${user}_${seq}_${at}`, text: text ?? TEXTS[(user + seq) % TEXTS.length] },
});

/** One POST body with the given messaging events, split over entries of at most 10 like Meta batches. */
export const webhookBody = (specs: readonly MessageSpec[], at = Date.now()): Buffer => {
  const entries = [];
  for (let i = 0; i < specs.length; i += 10) {
    entries.push({
      id: PAGE_ID,
      time: at,
      messaging: specs.slice(i, i + 10).map((s, j) => messagingItem(s, at + i + j)),
    });
  }
  return Buffer.from(JSON.stringify({ object: 'page', entry: entries }));
};

export const sign = (body: Uint8Array, secret: string): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** `n` events, one per user starting at `firstUser`. */
export const usersBatch = (n: number, firstUser = 0, seq = 0): MessageSpec[] =>
  Array.from({ length: n }, (_, i) => ({ user: firstUser + i, seq }));
