/** Stands in for lib/bots/llm/completion.ts in a bench bundle: the whole responder with the fetch reader instead. */
import type { CompletionOptions } from '../../lib/bots/llm/completion.ts';
import { fetchComplete } from './fetch-chat-stream.ts';

export const openAiComplete = (options: CompletionOptions) => fetchComplete(options);
