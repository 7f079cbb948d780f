import { describe, expect, it } from 'vitest';
import type { SendActionRequest } from '../../../lib/meta/graph/client.ts';
import { memoryConversationState } from '../../../lib/platform/conversation-state.ts';
import type { QueuedStep } from '../../../lib/queue/codec.ts';
import { checkHold, quotedOrPlain, stopRecipient, withheldByHold } from '../../../lib/sender/user-hold.ts';
import { queuedStep } from '../../support/factories.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

const T = 1_800_000_000_000;

const harness = () => {
  const calls: SendActionRequest[] = [];
  const deps = {
    conversations: memoryConversationState({ ttlMs: 60_000, now: () => T }),
    telemetry: memoryTelemetry(),
    now: () => T,
    graph: {
      sendAction: async (request: SendActionRequest) => {
        calls.push(request);
        return { ok: true as const, latencyMs: 1 };
      },
    },
  };
  return { deps, calls };
};

describe('user hold in the sender', () => {
  it("drops a held user's message and clears the typing bubble; a later message goes", async () => {
    const { deps, calls } = harness();
    await deps.conversations.hold('G', { through: T, reason: 'person', at: T });
    const message = queuedStep({ plannedAt: T - 3000, action: { message: { text: 'hi' } } });
    expect(await withheldByHold(deps, message, 'G')).toBe(true);
    expect(calls.map((c) => c.action)).toEqual([{ sender_action: 'typing_off' }]);
    expect(await withheldByHold(deps, { ...message, originAt: T + 1 }, 'G')).toBe(false);
  });

  it('sends nothing at all while another app owns the thread', async () => {
    const { deps, calls } = harness();
    await deps.conversations.hold('G', { through: Number.MAX_SAFE_INTEGER, reason: 'routing', at: T });
    const seen = queuedStep({ plannedAt: T + 60_000, action: { sender_action: 'mark_seen' } });
    expect(await withheldByHold(deps, seen, 'G')).toBe(true);
    expect(calls).toEqual([]);
  });

  it('a recipient-level failure stops the reply enqueued after the failed prelude; a 100 does not', async () => {
    const { deps } = harness();
    const prelude = queuedStep({ plannedAt: T - 2000, action: { sender_action: 'mark_seen' } });
    const reply = queuedStep({ sequenceId: 'r', originAt: T - 2000, plannedAt: T + 2000 });
    const failure = { ok: false as const, kind: 'permanent' as const, status: 400, reason: 'x' };
    await stopRecipient(deps, prelude, 'G', { ...failure, code: 100 });
    expect(await withheldByHold(deps, reply, 'G')).toBe(false);
    await stopRecipient(deps, prelude, 'G', { ...failure, code: 551, recipientUnreachable: true });
    expect(await withheldByHold(deps, reply, 'G')).toBe(true);
    await stopRecipient(deps, prelude, 'H', { ...failure, code: 10, subcode: 2018278 });
    expect(await withheldByHold(deps, reply, 'H')).toBe(true);
  });
});

describe('quoted replies in the sender', () => {
  const quote = { mid: 'm_FIRST', at: T - 5000 };
  const reply = queuedStep({ plannedAt: T - 5000, action: { message: { text: 'answer' }, quote } });
  const quoteOf = (step: QueuedStep) => ('message' in step.action ? step.action.quote : undefined);

  it('keeps the quote when the user wrote after the answered message', () => {
    expect(quoteOf(quotedOrPlain(reply, { lastInboundAt: T - 1000 }))).toEqual(quote);
  });

  it('drops it when the answered message is still the latest, or nothing is known', () => {
    expect(quoteOf(quotedOrPlain(reply, { lastInboundAt: T - 5000 }))).toBeUndefined();
    expect(quoteOf(quotedOrPlain(reply, {}))).toBeUndefined();
  });

  it('checkHold reads the record once and returns the step as it goes out', async () => {
    const { deps } = harness();
    await deps.conversations.userWrote('G', T - 10);
    const checked = await checkHold(deps, reply, 'G');
    expect(checked.withheld).toBe(false);
    if (!checked.withheld) expect(quoteOf(checked.step)).toEqual(quote);
  });
});
