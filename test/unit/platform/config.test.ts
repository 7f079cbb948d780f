import { describe, expect, it, vi } from 'vitest';
import { loadPlanConfig } from '../../../lib/pacing/config.ts';
import { resolveSecrets } from '../../../lib/platform/config.ts';
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

describe('config', () => {
  it('applies documented defaults for the typing model', () => {
    const plan = loadPlanConfig({});
    expect(plan.PLAN_READ_WPM).toBe(238);
    expect(plan.PLAN_TYPING_REFRESH_MS).toBe(18_000);
    expect(plan.PLAN_TIME_SCALE).toBe(1);
  });

  it('coerces numeric variables and treats empty strings as unset', () => {
    const plan = loadPlanConfig({ PLAN_TIME_SCALE: '0.01', PLAN_TYPING_CPM: '' });
    expect(plan.PLAN_TIME_SCALE).toBe(0.01);
    expect(plan.PLAN_TYPING_CPM).toBe(loadPlanConfig({}).PLAN_TYPING_CPM);
  });

  it('defaults the Graph endpoint and version for the sender', () => {
    const c = loadSenderConfig({ ...webhookEnv, META_PAGE_ACCESS_TOKEN: 'EAAtoken123456' });
    expect(c.GRAPH_API_URL).toBe('https://graph.facebook.com');
    expect(c.GRAPH_API_VERSION).toBe('v26.0');
  });

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

  it('rejects a malformed Graph version with the variable name', () => {
    expect(() =>
      loadSenderConfig({ ...webhookEnv, META_PAGE_ACCESS_TOKEN: 't', GRAPH_API_VERSION: 'latest' }),
    ).toThrow(/GRAPH_API_VERSION/);
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

  it('resolves SSM-backed secrets once each and keeps direct values', async () => {
    const fetchParameter = vi.fn(async (name: string) => `value-of-${name}`);
    const resolved = await resolveSecrets(
      { META_APP_SECRET: { param: '/p/app' }, META_VERIFY_TOKEN: { value: 'direct' } },
      fetchParameter,
    );
    expect(resolved).toEqual({ META_APP_SECRET: 'value-of-/p/app', META_VERIFY_TOKEN: 'direct' });
    expect(fetchParameter).toHaveBeenCalledTimes(1);
  });

  it('reports an unreadable parameter by name without the SDK message', async () => {
    const fetchParameter = async () => {
      throw new Error(`AccessDenied for token ${secret}`);
    };
    await expect(resolveSecrets({ META_APP_SECRET: { param: '/p/app' } }, fetchParameter)).rejects.toThrow(
      'META_APP_SECRET: could not read SSM parameter /p/app',
    );
    await expect(
      resolveSecrets({ META_APP_SECRET: { param: '/p/app' } }, fetchParameter),
    ).rejects.not.toThrow(secret);
  });
});
