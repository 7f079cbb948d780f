import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadLlmConfig, MESSENGER_TEXT_LIMIT } from '../../../../lib/bots/llm/config.ts';
import {
  isRetryableStatus,
  LlmRequestError,
  LlmUnavailableError,
  llmErrorFor,
} from '../../../../lib/bots/llm/errors.ts';
import { redactor } from '../../../../lib/platform/redaction.ts';

const KEY = 'sk-proj-Zx81QmN3vB7cL0pR5tW9yA2dF6gH4jK1';
const redact = redactor([KEY]);

describe('LLM error mapping', () => {
  it('retries 408, 409, 429 and 5xx; not other 4xx', () => {
    for (const s of [408, 409, 429, 500, 502, 503, 504, 529]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [400, 401, 403, 404, 413, 422]) expect(isRetryableStatus(s)).toBe(false);
  });

  it('makes a failure without a status (timeout, reset, refused) retryable', () => {
    const error = llmErrorFor({ message: 'ECONNRESET' }, redact);
    expect(error).toBeInstanceOf(LlmUnavailableError);
    expect(error.retryable).toBe(true);
    expect(error.status).toBeUndefined();
  });

  it('names the setting to fix in a config error', () => {
    expect(llmErrorFor({ status: 401, message: 'bad key' }, redact).message).toContain('check LLM_API_KEY');
    expect(llmErrorFor({ status: 404, message: 'no model' }, redact)).toBeInstanceOf(LlmRequestError);
    expect(llmErrorFor({ status: 400, message: 'max_tokens too large' }, redact).message).toContain(
      'LLM_MAX_TOKENS',
    );
  });

  it('property: the key, or any 12-character piece of it, never survives into the message', () => {
    const pieceOfKey = fc
      .tuple(fc.nat(KEY.length - 12), fc.integer({ min: 12, max: KEY.length }))
      .map(([from, len]) => KEY.slice(from, Math.min(KEY.length, from + len)));
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        pieceOfKey,
        fc.string({ maxLength: 40 }),
        fc.option(fc.constantFrom(400, 401, 429, 500)),
        (before, piece, after, status) => {
          const error = llmErrorFor(
            { status: status ?? undefined, message: `${before} ${piece} ${after}` },
            redact,
          );
          for (let i = 0; i + 12 <= KEY.length; i++)
            expect(error.message).not.toContain(KEY.slice(i, i + 12));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('LLM configuration', () => {
  const minimal = { LLM_MODEL: 'm', LLM_API_KEY: KEY };

  it('has defaults for everything but the model and the key', () => {
    const config = loadLlmConfig(minimal);
    expect(config).toMatchObject({
      LLM_BASE_URL: 'https://api.openai.com/v1',
      LLM_MAX_BUBBLE_CHARS: 1000,
      LLM_HISTORY_TURNS: 10,
      LLM_HISTORY_TTL_SECONDS: 604_800,
      apiKey: { value: KEY },
    });
    expect(loadLlmConfig({ LLM_MODEL: 'm', LLM_API_KEY_PARAM: '/p' }).apiKey).toEqual({ param: '/p' });
  });

  it('rejects a bubble limit above Messenger’s 2,000 characters, naming the variable and not the key', () => {
    const tooLong = { ...minimal, LLM_MAX_BUBBLE_CHARS: String(MESSENGER_TEXT_LIMIT + 1) };
    expect(() => loadLlmConfig(tooLong)).toThrow(/LLM_MAX_BUBBLE_CHARS/);
    expect(() => loadLlmConfig({ ...minimal, LLM_HISTORY_MAX_BYTES: '500000' })).toThrow(
      /LLM_HISTORY_MAX_BYTES/,
    );
    try {
      loadLlmConfig({ ...minimal, LLM_TEMPERATURE: KEY });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain('LLM_TEMPERATURE');
      expect((error as Error).message).not.toContain(KEY);
    }
  });
});
