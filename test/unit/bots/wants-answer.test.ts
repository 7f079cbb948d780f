import { describe, expect, it } from 'vitest';
import { wantsAnswer } from '../../../lib/bots/wants-answer.ts';
import { inboundEvent } from '../../support/factories.ts';

describe('wantsAnswer', () => {
  it('answers what a person deliberately sent: text, attachments, quick replies, postbacks', () => {
    expect(wantsAnswer(inboundEvent({ text: 'hi' }))).toBe(true);
    expect(wantsAnswer(inboundEvent({ text: undefined, attachments: [{ type: 'image' }] }))).toBe(true);
    expect(wantsAnswer(inboundEvent({ text: undefined, quickReplyPayload: 'RED' }))).toBe(true);
    expect(wantsAnswer(inboundEvent({ kind: 'postback', text: undefined }))).toBe(true);
  });

  it('leaves blank messages, reactions, opt-ins and referrals unanswered', () => {
    expect(wantsAnswer(inboundEvent({ text: '  \n ' }))).toBe(false);
    for (const kind of ['reaction', 'optin', 'referral'] as const)
      expect(wantsAnswer(inboundEvent({ kind, text: undefined }))).toBe(false);
  });
});
