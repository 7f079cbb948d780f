import { describe, expect, it } from 'vitest';
import { chatMessages, describeEvent, userTextOf } from '../../../../lib/bots/llm/prompt.ts';
import type { InboundEvent } from '../../../../lib/queue/inbound.ts';

const base: InboundEvent = {
  channel: 'messenger',
  kind: 'message',
  pageId: 'P',
  psid: 'U',
  timestamp: 1,
  eventId: 'm_1',
  attachments: [],
};

describe('what the model reads', () => {
  it('describes messages, attachments and postbacks in words; reactions and opt-ins ask for nothing', () => {
    expect(describeEvent({ ...base, text: '  hello  ' })).toBe('hello');
    expect(describeEvent({ ...base, text: 'look', attachments: [{ type: 'IMAGE' }] })).toBe(
      'look\n[sent image]',
    );
    expect(
      describeEvent({ ...base, kind: 'postback', postback: { title: 'Get started', payload: 'GS' } }),
    ).toBe('Get started');
    expect(describeEvent({ ...base, kind: 'postback', postback: { payload: 'GS' } })).toBe('GS');
    expect(describeEvent({ ...base, kind: 'reaction', reaction: { action: 'react', emoji: '❤' } })).toBe('');
    expect(describeEvent({ ...base, kind: 'optin', optin: { ref: 'r' } })).toBe('');
  });

  it("joins a turn's messages oldest first, skipping those that say nothing", () => {
    const events = [
      { ...base, text: 'hi' },
      { ...base, kind: 'reaction' as const },
      { ...base, text: 'where is my order?' },
    ];
    expect(userTextOf(events)).toBe('hi\nwhere is my order?');
    expect(userTextOf([{ ...base, kind: 'reaction' }])).toBe('');
  });

  it('puts the system prompt first, then the remembered turns, then this turn', () => {
    expect(chatMessages('sys', [{ user: 'a', assistant: 'b', at: 1 }], 'c')).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { role: 'user', content: 'c' },
    ]);
  });
});
