/**
 * The alternative to the `openai` client that bench/responder/llm.bench.ts measures it against: a minimal
 * fetch + Server-Sent Events reader for a streamed Chat Completion (no retries, no typed errors, no Azure
 * or proxy options) — about the least a hand-written client could be.
 */
import type { Complete } from '../../lib/bots/llm/completion.ts';

const deltaOf = (data: string): string => {
  const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string | null } }[] };
  return chunk.choices?.[0]?.delta?.content ?? '';
};

export const fetchComplete = (options: { baseUrl: string; apiKey: string; model: string }): Complete =>
  async function* complete(messages, signal) {
    const res = await fetch(`${options.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: options.model, messages, stream: true }),
      signal,
    });
    if (!res.ok || res.body === null) throw new Error(`LLM endpoint answered ${res.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const bytes of res.body) {
      buffer += decoder.decode(bytes, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        for (const line of event.split('\n')) {
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') return;
          const delta = deltaOf(data);
          if (delta) yield delta;
        }
      }
    }
  };
