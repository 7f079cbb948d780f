/** Secrets named by value or SSM parameter, resolved once, never echoed. */
import { describe, expect, it, vi } from 'vitest';
import { resolveSecrets } from '../../../lib/platform/config.ts';

const secret = 'super-secret-app-value-123';
describe('platform configuration', () => {
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
