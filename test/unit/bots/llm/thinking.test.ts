import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withoutThinking } from '../../../../lib/bots/llm/thinking.ts';

async function* streamOf(deltas: readonly string[]) {
  yield* deltas;
}

const collect = async (deltas: readonly string[]): Promise<string> => {
  let out = '';
  for await (const d of withoutThinking(streamOf(deltas))) out += d;
  return out;
};

/** `text` cut at arbitrary positions, as a stream may deliver it. */
const chunkings = (text: string) =>
  fc.array(fc.nat(text.length), { maxLength: 12 }).map((cuts) => {
    const points = [...new Set([0, ...cuts, text.length])].sort((a, b) => a - b);
    return points.slice(1).map((p, i) => text.slice(points[i], p));
  });

const plain = fc.string({ unit: fc.constantFrom('a', ' ', '\n', '<', '>', 't', '/', 'é'), maxLength: 60 });

describe('withoutThinking', () => {
  it('drops a leading <think> block streamed in pieces, keeps what follows', async () => {
    expect(await collect(['<th', 'ink>I should gre', 'et.</thi', 'nk>\n\nHello!'])).toBe('\n\nHello!');
    expect(await collect(['  \n<think>x</think>Hi'])).toBe('Hi');
  });

  it('passes an ordinary answer through, a short one and one that mentions <think> later included', async () => {
    expect(await collect(['Hi'])).toBe('Hi');
    expect(await collect(['<', 'b>bold'])).toBe('<b>bold');
    expect(await collect(['Use the ', '<think>', ' tag'])).toBe('Use the <think> tag');
  });

  it('shows nothing of reasoning that never closes', async () => {
    expect(await collect(['<think>still going'])).toBe('');
  });

  it('property: an answer not opening with <think> comes out unchanged, however it is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(
        plain
          .filter((t) => !t.trimStart().startsWith('<think>'))
          .chain((t) => fc.tuple(fc.constant(t), chunkings(t))),
        async ([text, deltas]) => {
          expect(await collect(deltas)).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: <think>reasoning</think>answer gives exactly the answer, however it is chunked', async () => {
    const reasoning = plain.filter((t) => !t.includes('</think>'));
    await fc.assert(
      fc.asyncProperty(
        fc
          .tuple(reasoning, plain)
          .chain(([r, a]) => fc.tuple(fc.constant(a), chunkings(`<think>${r}</think>${a}`))),
        async ([answer, deltas]) => {
          expect(await collect(deltas)).toBe(answer);
        },
      ),
      { numRuns: 300 },
    );
  });
});
