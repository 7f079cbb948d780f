import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { postSignedWebhook, webhookBody } from '../../../local/meta.ts';
import { type ChatEvent, type Stack, startStack } from '../../../local/stack.ts';
import { TRANSCRIPT_TEXT_CHARS, transcriptText, visibleControls } from '../../../local/transcript.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

describe('transcriptText', () => {
  test('keeps a short text as it is', () => {
    expect(transcriptText('hello 👋')).toBe('hello 👋');
    expect(transcriptText('x'.repeat(TRANSCRIPT_TEXT_CHARS))).toBe('x'.repeat(TRANSCRIPT_TEXT_CHARS));
  });

  test('cuts a 200,000-character text to the first 200 and says how much is left out', () => {
    const line = transcriptText('y'.repeat(200_000));
    expect(line).toBe(`${'y'.repeat(200)}… (199800 more characters)`);
  });

  test('counts and cuts by code point, so an emoji is never split', () => {
    const line = transcriptText('😀'.repeat(201));
    expect(line).toBe(`${'😀'.repeat(200)}… (1 more character)`);
  });

  test('keeps the line one line: breaks show as ⏎', () => {
    expect(transcriptText('one\ntwo\r\nthree\rfour')).toBe('one⏎two⏎three⏎four');
  });

  test('property: one line, a prefix of the text, bounded, and the left-out count adds up', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 600 }),
        fc.integer({ min: 1, max: 300 }),
        (text, max) => {
          const line = transcriptText(text, max);
          const flat = Array.from(text.replace(/\r\n|\r|\n/g, '⏎'));
          expect(line).not.toMatch(/[\r\n]/);
          const cut = /^([\s\S]*)… \((\d+) more characters?\)$/.exec(line);
          if (flat.length <= max) {
            expect(line).toBe(visibleControls(flat.join('')));
          } else {
            expect(cut?.[1]).toBe(visibleControls(flat.slice(0, max).join('')));
            expect(Number(cut?.[2])).toBe(flat.length - max);
          }
        },
      ),
    );
  });
});

/** Terminal-active characters, by Unicode's own classes: controls (C0, DEL, C1), bidi controls, line/paragraph separators. */
const TERMINAL_ACTIVE = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/u;

describe('transcriptText makes terminal-active characters visible', () => {
  test('escape sequences, the bell and bidi overrides show as stand-ins, never as themselves', () => {
    const hostile = '\u001b[2J\u001b[31mred\u0007 \u202Eevil\u202C \u2066x\u2069 \u009b1m \u007f';
    const line = transcriptText(hostile);
    expect(line).toBe('␛[2J␛[31mred␇ \\u{202e}evil\\u{202c} \\u{2066}x\\u{2069} \\u{9b}1m ␡');
    expect(line).not.toMatch(TERMINAL_ACTIVE);
  });

  test('property: no terminal-active character survives, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(transcriptText(text, 300)).not.toMatch(TERMINAL_ACTIVE);
      }),
    );
  });
});

describe('the local stack transcript', () => {
  const lines: string[] = [];
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: { PLAN_TIME_SCALE: '0.01' },
      print: (line) => lines.push(line),
      webhookOverrides: { telemetry: memoryTelemetry() },
      senderOverrides: { telemetry: memoryTelemetry() },
      responderOverrides: { telemetry: memoryTelemetry() },
    });
  });
  afterAll(() => stack?.stop());

  test('prints a 200,000-character inbound message as one short line; the chat view gets all of it', async () => {
    const events: ChatEvent[] = [];
    stack.subscribe((e) => events.push(e));
    const text = `${'a'.repeat(199_999)}!`;
    expect((await stack.say('long-writer', { text })).status).toBe(200);
    const line = lines.find((l) => l.includes('[long-writer] 🧑'));
    expect(line).toBe(`        [long-writer] 🧑 ${'a'.repeat(200)}… (199800 more characters)`);
    expect(events.find((e) => e.type === 'user' && e.psid === 'long-writer')).toMatchObject({ text });
  });

  test("a stranger's escape sequences reach the transcript as visible characters", async () => {
    const text = 'hi\u001b[2J\u001b]0;pwned\u0007 \u202Egnp.exe';
    expect((await stack.say('hostile-writer', { text })).status).toBe(200);
    const line = lines.find((l) => l.includes('[hostile-writer] 🧑'));
    expect(line).toBe('        [hostile-writer] 🧑 hi␛[2J␛]0;pwned␇ \\u{202e}gnp.exe');
  });

  test("a body the webhook refuses is reported as a rejection, never as a user's message", async () => {
    const events: ChatEvent[] = [];
    stack.subscribe((e) => events.push(e));
    const body = webhookBody({
      pageId: stack.pageId,
      psid: 'too-big',
      timestamp: Date.now(),
      text: 'z'.repeat(1_100_000),
    });
    const answer = await postSignedWebhook(stack.webhookUrl, body, stack.appSecret);
    expect(answer.status).toBe(413);
    expect(events.filter((e) => e.type === 'user' && e.psid === 'too-big')).toEqual([]);
    expect(events.find((e) => e.type === 'rejected')).toMatchObject({
      type: 'rejected',
      status: 413,
      psid: 'too-big',
    });
    expect(lines.filter((l) => l.includes('[too-big] 🧑'))).toEqual([]);
    expect(lines.find((l) => l.includes('[too-big] ✖ webhook refused a body (413'))).toBeDefined();
  });
});
