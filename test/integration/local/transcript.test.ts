import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ChatEvent, type Stack, startStack } from '../../../local/stack.ts';
import { TRANSCRIPT_TEXT_CHARS, transcriptText } from '../../../local/transcript.ts';
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
            expect(line).toBe(flat.join(''));
          } else {
            expect(cut?.[1]).toBe(flat.slice(0, max).join(''));
            expect(Number(cut?.[2])).toBe(flat.length - max);
          }
        },
      ),
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
});
