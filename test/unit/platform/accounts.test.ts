import { describe, expect, it } from 'vitest';
import { accountIdsOf, accountTokenSources, accountTokensOf } from '../../../lib/platform/accounts.ts';
import { loadSenderConfig } from '../../../lib/sender/config.ts';

const base = {
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/q.fifo',
  META_APP_SECRET: 'app-secret-000001',
};
const TOKEN_A = 'EAAsecretTokenOfPageA';
const TOKEN_B = 'EAAsecretTokenOfPageB';

describe('accounts configuration', () => {
  it('reads the served accounts; unset means every account (one-token mode)', () => {
    expect(accountIdsOf({ META_ACCOUNT_IDS: '111, 222 ,333' })).toEqual(new Set(['111', '222', '333']));
    expect(accountIdsOf({})).toBeUndefined();
    expect(() => accountIdsOf({ META_ACCOUNT_IDS: `111,${'x'.repeat(64)}` })).toThrow(/META_ACCOUNT_IDS/);
  });

  it('takes direct tokens from a JSON map and SSM parameters by account id', () => {
    const direct = accountTokenSources({ META_ACCOUNT_TOKENS: JSON.stringify({ A: TOKEN_A, B: TOKEN_B }) });
    expect(direct).toEqual({ 'account:A': { value: TOKEN_A }, 'account:B': { value: TOKEN_B } });
    expect(accountTokensOf({ 'account:A': TOKEN_A })).toEqual({ A: TOKEN_A });
    const ssm = accountTokenSources({
      META_ACCOUNT_IDS: 'A,B',
      META_ACCOUNT_TOKEN_PARAM_PREFIX: '/ellipsis/prod/token/',
    });
    expect(ssm).toEqual({
      'account:A': { param: '/ellipsis/prod/token/A' },
      'account:B': { param: '/ellipsis/prod/token/B' },
    });
    expect(accountTokenSources({})).toBeUndefined();
  });

  it('refuses a shared token next to per-account ones, and configurations it cannot serve, without echoing a value', () => {
    const cases = [
      { META_ACCOUNT_TOKENS: JSON.stringify({ A: TOKEN_A }), META_PAGE_ACCESS_TOKEN: TOKEN_B },
      { META_ACCOUNT_TOKENS: `{"A": "${TOKEN_A}"` },
      { META_ACCOUNT_TOKENS: JSON.stringify([TOKEN_A]) },
      { META_ACCOUNT_TOKENS: JSON.stringify({ A: TOKEN_A }), META_ACCOUNT_IDS: 'A,B' },
      { META_ACCOUNT_TOKEN_PARAM_PREFIX: '/p/' },
      { META_ACCOUNT_TOKENS: JSON.stringify({ A: TOKEN_A }), META_ACCOUNT_TOKEN_PARAM_PREFIX: '/p/' },
    ];
    for (const env of cases) {
      let message = '';
      try {
        accountTokenSources(env);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/META_/);
      expect(message).not.toContain(TOKEN_A);
      expect(message).not.toContain(TOKEN_B);
    }
  });

  it('gives the sender either the one token or each account its own', () => {
    expect(loadSenderConfig({ ...base, META_PAGE_ACCESS_TOKEN: TOKEN_A }).tokens).toEqual({
      single: { value: TOKEN_A },
    });
    const many = loadSenderConfig({
      ...base,
      META_ACCOUNT_TOKENS: JSON.stringify({ A: TOKEN_A, B: TOKEN_B }),
    });
    expect(many.tokens).toEqual({
      byAccount: { 'account:A': { value: TOKEN_A }, 'account:B': { value: TOKEN_B } },
    });
  });
});
