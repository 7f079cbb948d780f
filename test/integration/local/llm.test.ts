import { describe, expect, it } from 'vitest';
import { LOCAL_LLM_KEY, startLocalLlm } from '../../../local/llm.ts';

describe('local LLM for RESPONDER=llm', () => {
  it('starts the OpenAI fake for LLM_BASE_URL=fake (or unset) and points the responder at it', async () => {
    for (const env of [{ LLM_BASE_URL: 'fake' }, {}]) {
      const llm = await startLocalLlm(env);
      try {
        expect(llm.env).toEqual({
          LLM_BASE_URL: llm.fake?.baseUrl,
          LLM_API_KEY: LOCAL_LLM_KEY,
          LLM_MODEL: 'fake',
        });
        const res = await fetch(`${llm.env.LLM_BASE_URL}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${LOCAL_LLM_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'fake', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(res.status).toBe(200);
        await res.text();
      } finally {
        await llm.stop();
      }
    }
  });

  it('uses any other URL as it is; a loopback one (Ollama) gets a placeholder key, a remote one none', async () => {
    const ollama = await startLocalLlm({ LLM_BASE_URL: 'http://127.0.0.1:11434/v1', LLM_MODEL: 'llama3.2' });
    expect(ollama.fake).toBeUndefined();
    expect(ollama.env).toEqual({ LLM_API_KEY: 'ollama' });
    expect(ollama.describe).toContain('llama3.2');
    const remote = await startLocalLlm({
      LLM_BASE_URL: 'https://api.openai.com/v1',
      LLM_MODEL: 'gpt-4o-mini',
    });
    expect(remote.env).toEqual({});
    const keyed = await startLocalLlm({ LLM_BASE_URL: 'http://localhost:8000/v1', LLM_API_KEY: 'k' });
    expect(keyed.env).toEqual({});
  });
});

describe('an unreachable LLM endpoint', () => {
  it('fails with a retryable error naming LLM_BASE_URL, never the key', async () => {
    const { createServer } = await import('node:net');
    const { openAiComplete } = await import('../../../lib/bots/llm/completion.ts');
    // A port that was just free: nothing listens, so the connection is refused.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const complete = openAiComplete({
      baseUrl: `http://127.0.0.1:${port}/v1`,
      apiKey: 'sk-secret-key-123',
      model: 'm',
      timeoutMs: 5_000,
    });
    const failure = await (async () => {
      try {
        for await (const _ of complete([{ role: 'user', content: 'hi' }], new AbortController().signal));
      } catch (error) {
        return error as Error & { retryable?: boolean };
      }
      return undefined;
    })();
    expect(failure?.message).toContain('check LLM_BASE_URL');
    expect(failure?.retryable).toBe(true);
    expect(failure?.message).not.toContain('sk-secret-key-123');
  });
});
