/**
 * Reasoning models served through OpenAI-compatible endpoints (DeepSeek-R1, Qwen3 … on Ollama, vLLM or
 * llama.cpp without a reasoning parser) stream their reasoning inside the answer, as a leading
 * `<think>…</think>` block. The user must see the answer, not the model's notes: that block is dropped as
 * it streams, and everything after it passes through untouched.
 */
const OPEN = '<think>';
const CLOSE = '</think>';

export async function* withoutThinking(deltas: AsyncIterable<string>): AsyncGenerator<string> {
  let held = '';
  let state: 'undecided' | 'thinking' | 'answer' = 'undecided';
  for await (const delta of deltas) {
    if (state === 'answer') {
      yield delta;
      continue;
    }
    held += delta;
    if (state === 'undecided') {
      const start = held.trimStart();
      // Still a prefix of "<think>": wait for the next delta to decide.
      if (start.length < OPEN.length && OPEN.startsWith(start)) continue;
      if (!start.startsWith(OPEN)) {
        state = 'answer';
        yield held;
        continue;
      }
      state = 'thinking';
    }
    // Only the new delta (and a CLOSE cut across the previous one) can hold the end: no quadratic re-scan.
    const close = held.indexOf(CLOSE, Math.max(0, held.length - delta.length - CLOSE.length));
    if (close < 0) continue;
    state = 'answer';
    const rest = held.slice(close + CLOSE.length);
    if (rest !== '') yield rest;
  }
  // An answer shorter than "<think>" (or blank) is still the answer; reasoning that never closed is not.
  if (state === 'undecided' && held !== '') yield held;
}
