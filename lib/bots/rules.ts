/**
 * Responder rules: what Ellipsis says, as data. A rules file (RESPONDER_RULES_FILE, JSON) has this shape;
 * the bundled defaults below use the same schema, so they are validated the same way (test/rules.test.ts).
 *
 * A rule matches when ANY of its matchers match (so one rule can answer the word "menu", the MENU button and
 * the MENU chip alike); rules are tried in order and the first match wins. Messages and postbacks that match
 * no rule get `fallback`. Reactions are never answered; opt-ins and referrals only by a rule that asks.
 */
import { ConfigError } from '../platform/errors.ts';
import { describeIssues } from '../platform/issues.ts';
import * as z from '../platform/zod.ts';
import { replySchema } from '../queue/reply.ts';

/** A reply as written in a rule: a Reply, or `{ "react": "❤" }` = react to the inbound message. */
const replyTemplateSchema = z.union(
  [z.strictObject({ react: z.string().check(z.minLength(1), z.maxLength(64)) }), replySchema],
  {
    error: 'a reply is {"message": {...}}, {"react": "❤"} or a react/unreact sender action',
  },
);

const payloadList = z.array(z.string().check(z.minLength(1), z.maxLength(1000))).check(z.minLength(1));

/** Keywords must contain a letter or digit: matching is on whole words, punctuation is ignored. */
const keywordSchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(200),
    z.regex(/[\p{L}\p{N}]/u, 'a keyword needs at least one letter or digit'),
  );

/** Attachment types as Meta names them (image, video, audio, file, location, fallback, sticker, …). */
const attachmentMatcher = z.union(
  [z.literal('any'), z.array(z.string().check(z.minLength(1))).check(z.minLength(1))],
  {
    error: 'must be "any" or a list of attachment types such as ["image"]',
  },
);

/** `true` = any; a list = only these `ref` values. */
const refMatcher = z.union(
  [z.literal(true), z.array(z.string().check(z.minLength(1))).check(z.minLength(1))],
  {
    error: 'must be true or a list of ref values',
  },
);

const ruleSchema = z
  .strictObject({
    /** For logs and metrics ("which rule answered"). */
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    /** Whole words or phrases in the message text; case- and accent-insensitive ("cafe" matches "Café"). */
    keywords: z.optional(z.array(keywordSchema).check(z.minLength(1))),
    /** Exact postback payloads (buttons, Get Started, persistent menu). */
    postback: z.optional(payloadList),
    /** Exact quick-reply payloads (the chip the user tapped). */
    quickReply: z.optional(payloadList),
    /** A message carrying an attachment: "any", or one of these types. */
    attachment: z.optional(attachmentMatcher),
    /** A messaging_optins event (Send to Messenger, checkbox, notification opt-in). */
    optin: z.optional(refMatcher),
    /** A messaging_referrals event (m.me link, ad, chat plugin) on an existing thread. */
    referral: z.optional(refMatcher),
    /** What to say, in order. Empty = match and stay silent (e.g. to swallow a keyword before the fallback). */
    replies: z.array(replyTemplateSchema).check(z.maxLength(10)),
  })
  .check(
    z.refine(
      (r) =>
        r.keywords !== undefined ||
        r.postback !== undefined ||
        r.quickReply !== undefined ||
        r.attachment !== undefined ||
        r.optin !== undefined ||
        r.referral !== undefined,
      { message: 'a rule needs at least one of keywords, postback, quickReply, attachment, optin, referral' },
    ),
  );

export const rulesSchema = z.strictObject({
  rules: z.array(ruleSchema),
  /** For a message (text, attachment or chip) or postback that no rule matched. Empty = stay silent. */
  fallback: z._default(z.array(replyTemplateSchema).check(z.maxLength(10)), []),
});

export type ReplyTemplate = z.infer<typeof replyTemplateSchema>;
export type Rule = z.infer<typeof ruleSchema>;
export type Rules = z.infer<typeof rulesSchema>;
export type RulesInput = z.input<typeof rulesSchema>;

/** A bad rules file is bad configuration: the webhook cannot start, and says which field to fix. */
export class RulesError extends ConfigError {
  override name = 'RulesError';
}

/** Validates parsed JSON as rules; throws RulesError naming every broken field path. */
export const parseRules = (json: unknown, source = 'rules'): Rules => {
  const r = rulesSchema.safeParse(json);
  if (!r.success) throw new RulesError(`invalid ${source} — ${describeIssues(r.error.issues)}`);
  return r.data;
};

/** Validates rules given as JSON text (a rules file's content). */
export const parseRulesJson = (text: string, source = 'rules'): Rules => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RulesError(
      `invalid ${source} — not JSON: ${error instanceof Error ? error.message : 'parse error'}`,
    );
  }
  return parseRules(json, source);
};

const text = (t: string) => ({ message: { text: t } });
const chip = (title: string, payload: string) => ({ content_type: 'text' as const, title, payload });
const menuChips = [chip('What can you do?', 'HELP'), chip('Show the menu', 'MENU')];

/**
 * The bundled rules: enough to feel the pacing (one short reply, a reaction, two replies in a row)
 * without pretending to be a real assistant. Validated by `rulesSchema` at import and in the tests.
 */
export const defaultRulesInput: RulesInput = {
  rules: [
    {
      name: 'welcome',
      postback: ['GET_STARTED', '__GET_STARTED__', 'get_started'],
      replies: [
        text('Hi, welcome! 👋'),
        {
          message: {
            text: "I'm Ellipsis. I read what you write, then take a moment to answer — like a person would.",
            quick_replies: menuChips,
          },
        },
      ],
    },
    {
      name: 'help',
      keywords: ['help', 'menu', 'options', 'what can you do', 'aide', 'ayuda', 'hilfe'],
      postback: ['HELP', 'MENU'],
      quickReply: ['HELP', 'MENU'],
      replies: [
        {
          message: {
            text: 'Say hi, send me a photo, or just chat — I mark your message seen, type for a natural moment, then reply.',
            quick_replies: [chip('Say hi', 'GREETING'), chip('Tell me a joke', 'JOKE')],
          },
        },
      ],
    },
    {
      name: 'greeting',
      keywords: [
        'hi',
        'hello',
        'hey',
        'hiya',
        'howdy',
        'good morning',
        'good evening',
        'bonjour',
        'salut',
        'hola',
        'hallo',
        'ciao',
        'ola',
      ],
      quickReply: ['GREETING'],
      replies: [{ message: { text: 'Hey there! 👋 How can I help?', quick_replies: menuChips } }],
    },
    {
      name: 'joke',
      keywords: ['joke'],
      quickReply: ['JOKE'],
      replies: [
        text('Why did the bot take so long to reply?'),
        text('It was reading the typing-speed literature. 🐢'),
      ],
    },
    {
      name: 'thanks',
      keywords: ['thanks', 'thank you', 'thx', 'merci', 'gracias', 'danke', 'obrigado', 'grazie'],
      replies: [{ react: '❤' }, text("You're welcome!")],
    },
    {
      // Before 'photo': a Messenger sticker used to arrive as an image too (lib/meta/messenger/messaging.ts).
      // A person answers a sticker with a reaction, not a thank-you note; ❤ is the one every channel shows.
      name: 'sticker',
      attachment: ['sticker'],
      replies: [{ react: '❤' }],
    },
    {
      name: 'photo',
      attachment: ['image', 'video'],
      replies: [{ react: '😍' }, text('Thanks for sharing that!')],
    },
    {
      name: 'attachment',
      attachment: 'any',
      replies: [text('Got it — thanks!')],
    },
    {
      name: 'optin',
      optin: true,
      replies: [text("Thanks for opting in! I'll keep it short.")],
    },
    {
      name: 'referral',
      referral: true,
      replies: [{ message: { text: 'Hi! 👋 Glad you found us. How can I help?', quick_replies: menuChips } }],
    },
  ],
  // Two short replies on purpose: the gap between them is where the pacing shows.
  fallback: [
    text("Hmm, I'm not sure I follow."),
    {
      message: {
        text: "I'm a small demo bot — try saying hi, or tap one of these.",
        quick_replies: menuChips,
      },
    },
  ],
};

let validatedDefaults: Rules | undefined;

/**
 * The bundled rules, validated on first use, then kept: a broken default is a bug, caught by every test
 * run. Not at import: the responder's first invocation usually only waits out the quiet window, and the
 * parse is ~3 ms of its cold start (coldstart bench).
 */
export const defaultRules = (): Rules => {
  validatedDefaults ??= parseRules(defaultRulesInput, 'default rules');
  return validatedDefaults;
};
