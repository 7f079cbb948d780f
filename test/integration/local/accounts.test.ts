/**
 * The accounts `npm start` serves (local/accounts.ts): the three defaults, more from ELLIPSIS_ACCOUNTS (a
 * file) or ELLIPSIS_ACCOUNTS_JSON, and every mistake refused at start with the variable and field named.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { localAccounts } from '../../../local/accounts.ts';
import { LOCAL_ACCOUNTS } from '../../../local/defaults.ts';

const dir = mkdtempSync(join(tmpdir(), 'ellipsis-accounts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the local stack accounts', () => {
  test('by default: one Messenger Page, one Instagram account, one WhatsApp number, tokens all different', () => {
    const accounts = localAccounts({});
    expect(accounts).toEqual(LOCAL_ACCOUNTS);
    expect(new Set(accounts.map((a) => a.accessToken)).size).toBe(3);
  });

  test('ELLIPSIS_PAGE_ID names the default Messenger Page', () => {
    expect(localAccounts({ ELLIPSIS_PAGE_ID: '123' })[0]).toMatchObject({ id: '123', channel: 'messenger' });
  });

  test('ELLIPSIS_ACCOUNTS_JSON adds accounts, each with a token of its own unless it brings one', () => {
    const json = JSON.stringify([
      { id: '200', channel: 'whatsapp' },
      { id: '300', channel: 'instagram', accessToken: 'mine', instagramLogin: true },
    ]);
    const accounts = localAccounts({ ELLIPSIS_ACCOUNTS_JSON: json });
    expect(accounts).toHaveLength(5);
    expect(accounts.slice(3)).toEqual([
      { id: '200', channel: 'whatsapp', accessToken: 'local-whatsapp-access-token-200' },
      { id: '300', channel: 'instagram', accessToken: 'mine', instagramLogin: true },
    ]);
  });

  test('ELLIPSIS_ACCOUNTS reads a file; an account with a default id replaces the default', () => {
    const file = join(dir, 'accounts.json');
    writeFileSync(
      file,
      JSON.stringify([{ id: LOCAL_ACCOUNTS[2].id, channel: 'whatsapp', accessToken: 'x' }]),
    );
    const accounts = localAccounts({ ELLIPSIS_ACCOUNTS: file });
    expect(accounts.map((a) => a.id)).toEqual(LOCAL_ACCOUNTS.map((a) => a.id));
    expect(accounts.at(-1)?.accessToken).toBe('x');
  });

  test.each([
    [{ ELLIPSIS_ACCOUNTS_JSON: '{' }, /^ELLIPSIS_ACCOUNTS_JSON must be JSON/],
    [{ ELLIPSIS_ACCOUNTS_JSON: '[{"id":"1","channel":"sms"}]' }, /^ELLIPSIS_ACCOUNTS_JSON: \[0\]\.channel: /],
    [{ ELLIPSIS_ACCOUNTS_JSON: '[{"id":"abc","channel":"whatsapp"}]' }, /\[0\]\.id: must be the account id/],
    [
      { ELLIPSIS_ACCOUNTS_JSON: '[{"id":"1","channel":"whatsapp","token":"t"}]' },
      /\[0\]\.token: unknown field/,
    ],
    [
      { ELLIPSIS_ACCOUNTS: join(dir, 'missing.json') },
      /^ELLIPSIS_ACCOUNTS: cannot read .*missing\.json \(ENOENT\)/,
    ],
    [
      { ELLIPSIS_ACCOUNTS: 'a', ELLIPSIS_ACCOUNTS_JSON: '[]' },
      /ELLIPSIS_ACCOUNTS or ELLIPSIS_ACCOUNTS_JSON, not both/,
    ],
    [
      {
        ELLIPSIS_ACCOUNTS_JSON:
          '[{"id":"1","channel":"whatsapp","accessToken":"local-instagram-access-token"}]',
      },
      /two accounts share the accessToken of account 1/,
    ],
    [
      { ELLIPSIS_ACCOUNTS_JSON: '[{"id":"1","channel":"whatsapp"},{"id":"1","channel":"instagram"}]' },
      /two accounts share the id of account 1/,
    ],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => localAccounts(env)).toThrow(message);
  });
});
