import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defaultRules,
  defaultRulesInput,
  parseRules,
  parseRulesJson,
  type ReplyTemplate,
  type Rules,
  RulesError,
  rulesSchema,
} from '../../../lib/bots/rules.ts';
import { replySchema } from '../../../lib/queue/reply.ts';

const exampleFile = join(import.meta.dirname, '..', '..', '..', 'infra', 'rules.example.json');

/** The message of the RulesError that `fn` throws (fails the test if it does not throw one). */
const rulesErrorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RulesError);
    return (error as Error).message;
  }
  throw new Error('expected a RulesError');
};

const withReply = (reply: unknown) => ({ rules: [{ keywords: ['hi'], replies: [reply] }] });

const templatesOf = (rules: Rules): ReplyTemplate[] => [
  ...rules.rules.flatMap((r) => r.replies),
  ...rules.fallback,
];

describe('rules schema', () => {
  it('accepts the bundled default rules, and every non-react template is a valid Reply', () => {
    expect(rulesSchema.safeParse(defaultRulesInput).success).toBe(true);
    for (const template of templatesOf(defaultRules())) {
      if ('react' in template) expect(template.react.length).toBeGreaterThan(0);
      else expect(replySchema.safeParse(template).success).toBe(true);
    }
  });

  it('accepts the documented example rules file (infra/rules.example.json)', () => {
    const rules = parseRulesJson(readFileSync(exampleFile, 'utf8'), 'rules.example.json');
    expect(rules.rules.map((r) => r.name)).toContain('welcome');
    expect(rules.fallback.length).toBeGreaterThan(0);
  });

  it('defaults the fallback to silence when a file leaves it out', () => {
    expect(parseRules({ rules: [] }).fallback).toEqual([]);
  });

  it('names the field path of a reply text over the 2000-character Send API limit', () => {
    const message = rulesErrorOf(() => parseRules(withReply({ message: { text: 'x'.repeat(2001) } })));
    expect(message).toContain('rules[0].replies[0].message.text');
  });

  it('names the field path of a quick-reply title over 20 characters', () => {
    const reply = {
      message: {
        text: 'pick',
        quick_replies: [{ content_type: 'text', title: 'x'.repeat(21), payload: 'P' }],
      },
    };
    expect(rulesErrorOf(() => parseRules(withReply(reply)))).toContain(
      'rules[0].replies[0].message.quick_replies[0].title',
    );
  });

  it('rejects a message with both text and attachment, naming the message', () => {
    const reply = {
      message: { text: 'a', attachment: { type: 'image', payload: { url: 'https://example.com/a.png' } } },
    };
    const message = rulesErrorOf(() => parseRules(withReply(reply)));
    expect(message).toContain('rules[0].replies[0].message');
    expect(message).toContain('exactly one of text or attachment');
  });

  it('explains what a reply may be when a template has an unknown shape', () => {
    const message = rulesErrorOf(() => parseRules(withReply({ say: 'hello' })));
    expect(message).toContain('rules[0].replies[0]');
    expect(message).toContain('"react"');
  });

  it('rejects an empty react template', () => {
    expect(rulesErrorOf(() => parseRules(withReply({ react: '' })))).toContain('rules[0].replies[0].react');
  });

  it('rejects a rule without any matcher, and names a misspelt key', () => {
    const message = rulesErrorOf(() => parseRules({ rules: [{ keyword: ['hi'], replies: [] }] }));
    expect(message).toContain('rules[0]');
    expect(message).toContain('keyword');
    expect(message).toContain('at least one of keywords');
  });

  it('rejects a keyword without letters or digits (matching is on whole words)', () => {
    const message = rulesErrorOf(() => parseRules({ rules: [{ keywords: ['hi', '!!!'], replies: [] }] }));
    expect(message).toContain('rules[0].keywords[1]');
  });

  it('names bad matcher values', () => {
    expect(rulesErrorOf(() => parseRules({ rules: [{ attachment: 'all', replies: [] }] }))).toContain(
      'rules[0].attachment',
    );
    expect(rulesErrorOf(() => parseRules({ rules: [{ optin: false, replies: [] }] }))).toContain(
      'rules[0].optin',
    );
    expect(rulesErrorOf(() => parseRules({ rules: [{ postback: [], replies: [] }] }))).toContain(
      'rules[0].postback',
    );
  });

  it('says when a rules file is not JSON, with the source name', () => {
    const message = rulesErrorOf(() => parseRulesJson('{ "rules": [', 'rules file /etc/x.json'));
    expect(message).toContain('rules file /etc/x.json');
    expect(message).toContain('not JSON');
  });

  it('never throws anything but a RulesError, whatever the JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        try {
          parseRules(json);
        } catch (error) {
          expect(error).toBeInstanceOf(RulesError);
        }
      }),
    );
  });

  it('round-trips any valid rules through JSON text unchanged', () => {
    const rules = parseRulesJson(JSON.stringify(defaultRulesInput));
    expect(rules).toEqual(defaultRules());
  });
});
