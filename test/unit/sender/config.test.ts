/** The sender's configuration: Graph defaults, the version's shape, its secrets. */
import { describe, expect, it } from 'vitest';
import { loadSenderConfig } from '../../../lib/sender/config.ts';

const secret = 'super-secret-app-value-123';
const webhookEnv = {
  META_APP_SECRET: secret,
  META_VERIFY_TOKEN: 'verify-me-please',
  QUEUE_URL: 'http://127.0.0.1:9324/000000000000/ellipsis.fifo',
  RESPONDER_QUEUE_URL: 'http://127.0.0.1:9324/000000000000/ellipsis-responder.fifo',
};

describe('sender configuration', () => {
  it('defaults the Graph endpoint and version for the sender', () => {
    const c = loadSenderConfig({ ...webhookEnv, META_PAGE_ACCESS_TOKEN: 'EAAtoken123456' });
    expect(c.GRAPH_API_URL).toBe('https://graph.facebook.com');
    expect(c.GRAPH_API_VERSION).toBe('v26.0');
  });
  it('rejects a malformed Graph version with the variable name', () => {
    expect(() =>
      loadSenderConfig({ ...webhookEnv, META_PAGE_ACCESS_TOKEN: 't', GRAPH_API_VERSION: 'latest' }),
    ).toThrow(/GRAPH_API_VERSION/);
  });
  it('requires each secret directly or as an SSM parameter name', () => {
    expect(() => loadSenderConfig({ QUEUE_URL: webhookEnv.QUEUE_URL, META_APP_SECRET: secret })).toThrow(
      /META_PAGE_ACCESS_TOKEN or META_PAGE_ACCESS_TOKEN_PARAM is required/,
    );
    const c = loadSenderConfig({
      QUEUE_URL: webhookEnv.QUEUE_URL,
      META_APP_SECRET_PARAM: '/ellipsis/dev/app-secret',
      META_PAGE_ACCESS_TOKEN_PARAM: '/ellipsis/dev/page-token',
    });
    expect(c.secrets.META_APP_SECRET).toEqual({ param: '/ellipsis/dev/app-secret' });
  });
});
