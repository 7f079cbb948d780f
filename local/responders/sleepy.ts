/**
 * An example RESPONDER_MODULE: thinks 8 s (a slow LLM, CRM or order system), then answers every message of
 * the turn at once. Try it: `RESPONDER_MODULE=./local/responders/sleepy.ts npm start`, then
 * `npm run chat -- "where is my order?"` — seen, typing (kept on), the answer.
 */

import type { Responder } from '../../lib/index.ts';

const THINK_MS = Number(process.env.SLEEPY_THINK_MS ?? 8_000);

export const responder: Responder = async (_event, turn) => {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, THINK_MS);
    turn.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(turn.signal.reason);
    });
  });
  const asked = turn.events.map((e) => e.text ?? '(attachment)').join(' / ');
  return [{ message: { text: `I looked into it (${THINK_MS / 1000} s): "${asked}".` } }];
};

export default responder;
