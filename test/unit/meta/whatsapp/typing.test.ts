/** WhatsApp's typing keep-alive is timed past the indicator's 25 s (lib/meta/whatsapp/typing.ts says why). */
import { describe, expect, it } from 'vitest';
import { planConfigForChannel, WHATSAPP_TYPING_LIFETIME_MS } from '../../../../lib/meta/whatsapp/typing.ts';
import { loadPlanConfig } from '../../../../lib/pacing/config.ts';
import { keepAlive, paceReply } from '../../../../lib/pacing/plan.ts';

const config = loadPlanConfig({ PLAN_JITTER: '0' });
const T0 = 1_700_000_000_000;

/** Keep-alive typing_on times over `ms` of thinking, from the bubble's start. */
const keepAliveTimes = (channel: 'whatsapp' | 'messenger', ms: number): number[] => {
  const cfg = planConfigForChannel(channel, config);
  let pace = { lastDueAt: T0, replies: 0 };
  const times: number[] = [];
  for (let now = T0; now <= T0 + ms; ) {
    const alive = keepAlive(pace, now, cfg);
    if (alive.paced) times.push(now - T0);
    pace = alive.pace;
    now = alive.nextAt;
  }
  return times;
};

describe('WhatsApp typing keep-alive', () => {
  it('refreshes only after the 25 s lifetime, so a refresh is never lost in the cooldown', () => {
    const times = keepAliveTimes('whatsapp', 90_000);
    expect(times).toEqual([0, 25_500, 51_000, 76_500]);
    for (let i = 1; i < times.length; i += 1)
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThan(WHATSAPP_TYPING_LIFETIME_MS);
  });

  it('leaves Messenger at its configured refresh (18 s)', () => {
    expect(keepAliveTimes('messenger', 40_000)).toEqual([0, 18_000, 36_000]);
  });

  it('spaces the refreshes of a long typed reply the same way', () => {
    const long = { message: { text: 'x'.repeat(2000) } };
    const cfg = planConfigForChannel('whatsapp', { ...config, PLAN_TYPING_MAX_MS: 60_000 });
    const { paced } = paceReply({ lastDueAt: T0, replies: 0 }, long, T0, 'seed', cfg);
    const typingDelays = paced.steps
      .slice(1)
      .filter((s) => 'sender_action' in s.action)
      .map((s) => s.delayMs);
    expect(typingDelays.length).toBeGreaterThan(0);
    expect(typingDelays.every((d) => d > WHATSAPP_TYPING_LIFETIME_MS)).toBe(true);
  });
});
