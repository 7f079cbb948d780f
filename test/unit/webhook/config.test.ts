/** The webhook's configuration: errors that name the variable, the answered-event record's TTL. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/platform/errors.ts';
import { loadSenderConfig } from '../../../lib/sender/config.ts';
import { loadWebhookConfig } from '../../../lib/webhook/config.ts';

const secret = 'super-secret-app-value-123';
const webhookEnv = {
  META_APP_SECRET: secret,
  META_VERIFY_TOKEN: 'verify-me-please',
  QUEUE_URL: 'http://127.0.0.1:9324/000000000000/ellipsis.fifo',
  RESPONDER_QUEUE_URL: 'http://127.0.0.1:9324/000000000000/ellipsis-responder.fifo',
};

describe('webhook configuration', () => {
  it('names the missing variable and never prints a secret value', () => {
    const { QUEUE_URL: _q, ...noQueue } = webhookEnv;
    const error = (() => {
      try {
        loadWebhookConfig({ ...noQueue, GRAPH_API_VERSION: 'latest' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toContain('QUEUE_URL');
    expect(String(error)).not.toContain(secret);
  });
  it('remembers answered events for 48 h by default and refuses less (Meta retries for up to 36 h)', () => {
    const c = loadWebhookConfig(webhookEnv);
    expect(c.EVENT_TTL_SECONDS).toBe(172_800);
    expect(c.STATE_TABLE_NAME).toBeUndefined();
    expect(loadWebhookConfig({ ...webhookEnv, EVENT_TTL_SECONDS: '259200' }).EVENT_TTL_SECONDS).toBe(259_200);
    expect(() => loadWebhookConfig({ ...webhookEnv, EVENT_TTL_SECONDS: '86400' })).toThrow(
      /EVENT_TTL_SECONDS/,
    );
  });
  it('gives webhook and sender the same STATE_TABLE_NAME variable', () => {
    const table = { STATE_TABLE_NAME: 'ellipsis-prod-state' };
    expect(loadWebhookConfig({ ...webhookEnv, ...table }).STATE_TABLE_NAME).toBe('ellipsis-prod-state');
    const sender = loadSenderConfig({ ...webhookEnv, ...table, META_PAGE_ACCESS_TOKEN: 't' });
    expect(sender.STATE_TABLE_NAME).toBe('ellipsis-prod-state');
  });
});
