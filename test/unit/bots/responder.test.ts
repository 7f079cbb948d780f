import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defaultResponder,
  foldText,
  loadRulesResponder,
  rulesResponder,
  wordsOf,
} from '../../../lib/bots/responder.ts';
import { defaultRules, parseRules, RulesError, type RulesInput } from '../../../lib/bots/rules.ts';
import { parseWebhookBody } from '../../../lib/meta/inbound.ts';
import type { InboundEvent } from '../../../lib/queue/inbound.ts';
import { type Reply, replySchema } from '../../../lib/queue/reply.ts';
import { corpusFile, corpusIndex, corpusSuiteTitle, hasCorpus } from '../../support/corpus.ts';
import { inboundEvent } from '../../support/factories.ts';

const message = (text: string, extra: Partial<InboundEvent> = {}): InboundEvent =>
  inboundEvent({ text, ...extra });
const event = (e: Partial<InboundEvent> & Pick<InboundEvent, 'kind'>): InboundEvent => {
  const { mid: _mid, text: _text, ...base } = inboundEvent();
  return { ...base, eventId: 'e_1', ...e };
};

const say = (text: string): Reply => ({ message: { text } });

const testRules: RulesInput = {
  rules: [
    { name: 'price', keywords: ['price', 'how much'], replies: [say('price')] },
    { name: 'cafe', keywords: ['café'], replies: [say('cafe')] },
    { name: 'button', postback: ['BUY'], replies: [say('bought')] },
    { name: 'chip', quickReply: ['RED'], replies: [say('red')] },
    { name: 'photo', attachment: ['image'], replies: [{ react: '😍' }, say('photo')] },
    { name: 'file', attachment: 'any', replies: [say('file')] },
    { name: 'promo', referral: ['PROMO'], replies: [say('promo')] },
    { name: 'any-referral', referral: true, replies: [say('referral')] },
    { name: 'optin', optin: true, replies: [say('optin')] },
    { name: 'hush', keywords: ['stop'], replies: [] },
  ],
  fallback: [say('fallback 1'), say('fallback 2')],
};
const respond = rulesResponder(parseRules(testRules));
const texts = (replies: readonly Reply[]) => replies.map((r) => ('message' in r ? r.message.text : 'react'));

describe('rules responder', () => {
  it('matches keywords as whole words, ignoring case and accents', () => {
    expect(texts(respond(message('What is the PRICE?')) as Reply[])).toEqual(['price']);
    expect(texts(respond(message('CAFE please')) as Reply[])).toEqual(['cafe']);
    expect(texts(respond(message('un cafe\u0301 noir')) as Reply[])).toEqual(['cafe']);
    expect(texts(respond(message('Pricey stuff')) as Reply[])).toEqual(['fallback 1', 'fallback 2']);
  });

  it('matches multi-word keywords only as consecutive words', () => {
    expect(texts(respond(message('so, how much is it')) as Reply[])).toEqual(['price']);
    expect(texts(respond(message('how very much')) as Reply[])).toEqual(['fallback 1', 'fallback 2']);
  });

  it('finds a keyword whatever its case, accents and surroundings (property)', () => {
    const accent = (s: string) => s.replace(/[aeiou]/g, (v) => `${v}\u0301`);
    fc.assert(
      fc.property(
        fc.constantFrom('price', 'cafe'),
        fc.boolean(),
        fc.boolean(),
        fc.string({ maxLength: 20 }),
        fc.string({ maxLength: 20 }),
        (word, upper, accents, before, after) => {
          let shown = accents ? accent(word) : word;
          if (upper) shown = shown.toUpperCase();
          const replies = respond(message(`${before} ${shown} ${after}`)) as Reply[];
          // A match may also come from an earlier rule if the noise happens to contain its keyword.
          expect(texts(replies)[0]).not.toMatch(/^fallback/);
        },
      ),
    );
  });

  it('folds text to lower case without accents or compatibility forms', () => {
    expect(foldText('ÉCOLE ﬁn Ｃａｆé')).toBe('ecole fin cafe');
    expect(wordsOf('Don’t STOP, café!')).toEqual(["don't", 'stop', 'cafe']);
  });

  it('answers postbacks, quick replies, attachments, referrals and opt-ins by their rules', () => {
    expect(texts(respond(event({ kind: 'postback', postback: { payload: 'BUY' } })) as Reply[])).toEqual([
      'bought',
    ]);
    expect(texts(respond(message('Red', { quickReplyPayload: 'RED' })) as Reply[])).toEqual(['red']);
    const image = { type: 'image', url: 'https://example.com/a.jpg' };
    expect(texts(respond(message('', { text: undefined, attachments: [image] })) as Reply[])).toEqual([
      'react',
      'photo',
    ]);
    const file = { type: 'file', url: 'https://example.com/a.pdf' };
    expect(texts(respond(message('', { text: undefined, attachments: [file] })) as Reply[])).toEqual([
      'file',
    ]);
    expect(texts(respond(event({ kind: 'referral', referral: { ref: 'PROMO' } })) as Reply[])).toEqual([
      'promo',
    ]);
    expect(texts(respond(event({ kind: 'referral', referral: { ref: 'OTHER' } })) as Reply[])).toEqual([
      'referral',
    ]);
    expect(texts(respond(event({ kind: 'optin', optin: { ref: 'x' } })) as Reply[])).toEqual(['optin']);
  });

  it('matches attachment types case-insensitively', () => {
    const rules = rulesResponder(parseRules({ rules: [{ attachment: ['Image'], replies: [say('img')] }] }));
    const replies = rules(message('', { text: undefined, attachments: [{ type: 'IMAGE' }] })) as Reply[];
    expect(texts(replies)).toEqual(['img']);
  });

  it('lets the first matching rule win', () => {
    // "price" and "café" both match: the price rule comes first.
    expect(texts(respond(message('café price')) as Reply[])).toEqual(['price']);
    // A photo with a text keyword: the keyword rule is earlier than the photo rule.
    const photo = { type: 'image', url: 'https://example.com/a.jpg' };
    expect(texts(respond(message('price?', { attachments: [photo] })) as Reply[])).toEqual(['price']);
  });

  it('stays silent for a rule with no replies, before the fallback is reached', () => {
    expect(respond(message('STOP'))).toEqual([]);
  });

  it('falls back for unmatched text, attachments, chips and postbacks', () => {
    const fallback = ['fallback 1', 'fallback 2'];
    expect(texts(respond(message('lorem ipsum')) as Reply[])).toEqual(fallback);
    expect(texts(respond(message('Blue', { quickReplyPayload: 'BLUE' })) as Reply[])).toEqual(fallback);
    expect(texts(respond(event({ kind: 'postback', postback: { payload: 'UNKNOWN' } })) as Reply[])).toEqual(
      fallback,
    );
  });

  it('never answers reactions, empty messages, or opt-ins and referrals no rule asks for', () => {
    const silent = rulesResponder(parseRules({ rules: [], fallback: [say('fallback')] }));
    expect(
      silent(event({ kind: 'reaction', mid: 'm_1', reaction: { action: 'react', emoji: '❤' } })),
    ).toEqual([]);
    expect(silent(message('   '))).toEqual([]);
    expect(silent(event({ kind: 'optin', optin: { ref: 'x' } }))).toEqual([]);
    expect(silent(event({ kind: 'referral', referral: { ref: 'x' } }))).toEqual([]);
  });

  it('turns a react template into a reaction to the inbound message', () => {
    const photo = { type: 'image', url: 'https://example.com/a.jpg' };
    const replies = respond(
      message('', { text: undefined, mid: 'm_photo', attachments: [photo] }),
    ) as Reply[];
    expect(replies[0]).toEqual({
      sender_action: 'react',
      payload: { message_id: 'm_photo', reaction: '😍' },
    });
  });

  it('skips a react template when the event has no mid', () => {
    const photo = { type: 'image', url: 'https://example.com/a.jpg' };
    const replies = respond(
      message('', { text: undefined, mid: undefined, attachments: [photo] }),
    ) as Reply[];
    expect(texts(replies)).toEqual(['photo']);
  });
});

const inboundArb: fc.Arbitrary<InboundEvent> = fc.record({
  channel: fc.constantFrom('messenger', 'instagram', 'whatsapp'),
  kind: fc.constantFrom('message', 'postback', 'reaction', 'optin', 'referral'),
  pageId: fc.constant('PAGE'),
  psid: fc.constant('USER'),
  timestamp: fc.nat(),
  eventId: fc.string({ minLength: 1 }),
  mid: fc.option(fc.string({ minLength: 1, maxLength: 30 }), { nil: undefined }),
  text: fc.option(
    fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.constantFrom('hi', 'Hello!', 'thanks', 'MENU please', 'olá', 'joke'),
    ),
    { nil: undefined },
  ),
  quickReplyPayload: fc.option(fc.constantFrom('HELP', 'MENU', 'GREETING', 'JOKE', 'OTHER'), {
    nil: undefined,
  }),
  attachments: fc.array(
    fc.record({
      type: fc.constantFrom('image', 'video', 'audio', 'file', 'location', 'fallback', 'sticker'),
    }),
    { maxLength: 2 },
  ),
  postback: fc.option(
    fc.record({ payload: fc.constantFrom('GET_STARTED', 'HELP', 'USER_DEFINED_PAYLOAD') }),
    {
      nil: undefined,
    },
  ),
  optin: fc.option(fc.record({ ref: fc.string() }), { nil: undefined }),
  referral: fc.option(fc.record({ ref: fc.string() }), { nil: undefined }),
});

describe('default responder', () => {
  it('never produces an invalid Reply, and stays within a short sequence', () => {
    fc.assert(
      fc.property(inboundArb, (e) => {
        const replies = defaultResponder(e) as Reply[];
        for (const reply of replies) expect(replySchema.safeParse(reply).success).toBe(true);
        expect(replies.length).toBeLessThanOrEqual(3);
        if (e.kind === 'reaction') expect(replies).toEqual([]);
      }),
    );
  });

  it('answers opt-ins and referrals with a single message at most', () => {
    for (const kind of ['optin', 'referral'] as const) {
      const replies = defaultResponder(
        event({ kind, optin: { ref: 'r' }, referral: { ref: 'r' } }),
      ) as Reply[];
      expect(replies.filter((r) => 'message' in r).length).toBeLessThanOrEqual(1);
    }
  });

  it('greets with quick-reply chips and welcomes Get Started with two replies', () => {
    const greeting = defaultResponder(message('Hello!')) as Reply[];
    expect(greeting).toHaveLength(1);
    expect('message' in greeting[0]! && greeting[0].message.quick_replies?.length).toBeGreaterThan(0);
    const welcome = defaultResponder(
      event({ kind: 'postback', postback: { payload: 'GET_STARTED' } }),
    ) as Reply[];
    expect(welcome.length).toBe(2);
  });

  it('reacts to a photo and thanks for it', () => {
    const replies = defaultResponder(
      message('', { text: undefined, attachments: [{ type: 'image' }] }),
    ) as Reply[];
    expect(replies.map((r) => ('message' in r ? 'message' : r.sender_action))).toEqual(['react', 'message']);
  });

  it('answers unmatched text with the two-part fallback', () => {
    const replies = defaultResponder(message('Sharp tools make good work.')) as Reply[];
    expect(replies).toEqual(defaultRules().fallback);
    expect(replies).toHaveLength(2);
  });
});

describe('loadRulesResponder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ellipsis-rules-'));

  it('uses the default rules without a file', () => {
    expect(loadRulesResponder()).toBe(defaultResponder);
    expect(loadRulesResponder('')).toBe(defaultResponder);
  });

  it('reads and uses a JSON rules file', () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify({ rules: [{ keywords: ['ping'], replies: [say('pong')] }] }));
    const responder = loadRulesResponder(file);
    expect(texts(responder(message('Ping!')) as Reply[])).toEqual(['pong']);
    expect(responder(message('other'))).toEqual([]);
  });

  it('fails with a RulesError naming the file and the broken field', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ rules: [{ keywords: ['x'], replies: [{ message: { text: '' } }] }] }),
    );
    expect(() => loadRulesResponder(file)).toThrow(RulesError);
    expect(() => loadRulesResponder(file)).toThrow(/bad\.json.*rules\[0\]\.replies\[0\]\.message\.text/);
  });

  it('fails with a RulesError when the file cannot be read', () => {
    expect(() => loadRulesResponder(join(dir, 'missing.json'))).toThrow(
      /cannot read rules file .*missing\.json \(ENOENT\)/,
    );
  });
});

describe.skipIf(!hasCorpus)(corpusSuiteTitle('default rules on the shared corpus'), () => {
  const index = corpusIndex();

  it.each(index.webhooks.map((w) => [w.file, w] as const))(
    'answers %s within its expected number of sequences',
    (_file, entry) => {
      let json: unknown;
      try {
        json = JSON.parse(corpusFile(entry.file).toString('utf8'));
      } catch {
        return; // not JSON at all: the webhook rejects it before any responder runs
      }
      const answered = new Set<string>();
      for (const e of parseWebhookBody(json).events) {
        const replies = defaultResponder(e) as Reply[];
        for (const reply of replies) expect(replySchema.safeParse(reply).success).toBe(true);
        if (replies.length > 0) answered.add(e.eventId); // one sequence per distinct event
      }
      expect(answered.size).toBeGreaterThanOrEqual(entry.min_replies);
      expect(answered.size).toBeLessThanOrEqual(entry.max_replies);
    },
  );
});
