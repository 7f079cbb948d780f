import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { takeoverSignals } from '../../../lib/meta/takeover.ts';
import { parseJsonBody } from '../../../lib/webhook/body.ts';
import { corpusFile, corpusSuiteTitle, hasCorpus } from '../../support/corpus.ts';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/takeover', name), 'utf8'));
const corpus = (file: string): unknown => {
  const parsed = parseJsonBody(corpusFile(file));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.json;
};
const T = 1_800_000_000_000;
const options = (appId?: string) => ({ appId, receivedAt: T });

describe('takeover signals', () => {
  it('a WhatsApp Business app echo is a person, with its words and wamid', () => {
    expect(takeoverSignals(fixture('whatsapp-smb-message-echoes.json'), options('1'))).toEqual([
      {
        kind: 'person',
        channel: 'whatsapp',
        pageId: '106540352242922',
        psid: '491711444744',
        at: 1_759_600_100_000,
        text: 'Wir kommen Donnerstag',
        mid: 'wamid.e1',
      },
    ]);
  });

  it('pass_thread_control to this app returns the thread; to another app takes it', () => {
    const body = fixture('messenger-pass-thread-control.json');
    expect(takeoverSignals(body, options('123456789')).map((s) => [s.kind, s.psid])).toEqual([
      ['routing_returned', '1423587017700273'],
    ]);
    expect(takeoverSignals(body, options('999')).map((s) => s.kind)).toEqual(['routing_lost']);
  });

  it('WhatsApp messaging_handovers: control_taken loses the thread, control_passed returns it', () => {
    const body = (type: string) => ({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'waba',
          changes: [
            {
              field: 'messaging_handovers',
              value: {
                metadata: { phone_number_id: '555' },
                type,
                sender: { phone_number: '4917' },
                [type]: {},
              },
            },
          ],
        },
      ],
    });
    expect(takeoverSignals(body('control_taken'), options('1'))[0]?.kind).toBe('routing_lost');
    expect(takeoverSignals(body('control_passed'), options('1'))[0]?.kind).toBe('routing_returned');
  });

  it('never throws and never signals for a body of another shape (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.option(fc.string(), { nil: undefined }), (json, appId) => {
        for (const object of ['page', 'instagram', 'whatsapp_business_account']) {
          const signals = takeoverSignals({ object, entry: [json] }, { appId, receivedAt: T });
          for (const s of signals) expect(s.psid).not.toBe(s.pageId);
        }
      }),
    );
  });

  it("an echo with this app's id pauses nothing; any other app id, or none, is a person (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 16n }),
        fc.bigInt({ min: 1n, max: 10n ** 16n }),
        (ours, theirs) => {
          const echo = (appId: string) => ({
            object: 'instagram',
            entry: [
              {
                id: '17841400000000000',
                messaging: [
                  {
                    sender: { id: '17841400000000000' },
                    recipient: { id: '5551' },
                    timestamp: T,
                    message: { is_echo: true, app_id: appId, mid: 'm1', text: 'hi' },
                  },
                ],
              },
            ],
          });
          expect(takeoverSignals(echo(String(ours)), options(String(ours)))).toEqual([]);
          const foreign = takeoverSignals(echo(String(theirs)), options(String(ours)));
          expect(foreign.map((s) => s.kind)).toEqual(ours === theirs ? [] : ['person']);
        },
      ),
    );
  });
});

describe.skipIf(!hasCorpus)(corpusSuiteTitle('takeover signals of the corpus'), () => {
  it('echo bodies: a person unless the app id is ours; its own echo (META_APP_ID) pauses nothing', () => {
    const echo = corpus('webhooks/echo-text-app-id.json');
    expect(takeoverSignals(echo, options('205552219930699'))).toEqual([]);
    const person = takeoverSignals(echo, options('1'));
    expect(person).toMatchObject([{ kind: 'person', pageId: '404217156637689', psid: '1423587017700273' }]);
    expect(
      takeoverSignals(corpus('webhooks/courier-echo-no-app-id-no-time.json'), options('1')),
    ).toHaveLength(1);
  });

  it('standby items and take_thread_control: another app owns the thread', () => {
    expect(takeoverSignals(corpus('webhooks/standby-message-real.json'), options('1'))).toMatchObject([
      { kind: 'routing_lost', psid: '2031835813581292', pageId: '441865839900774' },
    ]);
    expect(
      takeoverSignals(corpus('webhooks/handover-take-thread-control.json'), options(undefined)).map(
        (s) => s.kind,
      ),
    ).toEqual(['routing_lost']);
  });
});
