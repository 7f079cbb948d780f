/**
 * An example streaming RESPONDER_MODULE: three paragraphs, each yielded when "written" (2 s apart), so the
 * user sees three naturally typed bubbles with typing kept on between them.
 * `RESPONDER_MODULE=./local/responders/streaming.ts npm start`
 */

import type { Reply, Responder } from '../../lib/index.ts';

const PARAGRAPHS = [
  'Good question, let me check.',
  'Your order left the warehouse this morning.',
  'It should arrive tomorrow before noon.',
];

export const responder: Responder = async function* (_event, turn): AsyncIterable<Reply> {
  for (const text of PARAGRAPHS) {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    if (turn.signal.aborted) return;
    yield { message: { text } };
  }
};
