/**
 * lib/meta/ and lib/meta/: does a channel cost more than Messenger? Parses bodies
 * of 1, 10 and 100 text messages in each channel's webhook shape (same texts, same ids), and builds each
 * channel's Graph request for a typing step and a message step — interleaved, side by side.
 */

import { parseWebhookBody } from '../../lib/meta/inbound.ts';
import { channelShapeOf } from '../../lib/meta/outbound.ts';
import type { Channel } from '../../lib/queue/recipient.ts';
import type { Action } from '../../lib/queue/step.ts';
import { whatsappWebhookBody } from '../../local/meta.ts';
import type { Bench } from '../support/report.ts';
import { interleave } from '../support/stats.ts';

const ACCOUNT = '106540352242922';
const T = 1_700_000_000_000;
const texts = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    user: `1650555${String(i).padStart(4, '0')}`,
    mid: `mid.bench.${i}`,
    text: `hello number ${i}`,
  }));

const messagingBody = (object: 'page' | 'instagram', n: number) => ({
  object,
  entry: [
    {
      id: ACCOUNT,
      time: T,
      messaging: texts(n).map((m, i) => ({
        sender: { id: m.user },
        recipient: { id: ACCOUNT },
        timestamp: T + i,
        message: { mid: m.mid, text: m.text },
      })),
    },
  ],
});

const whatsappBody = (n: number) =>
  whatsappWebhookBody(
    ACCOUNT,
    texts(n).map((m, i) => ({ from: m.user, wamid: m.mid, text: m.text, at: T + i * 1000 })),
  );

const BODIES: Record<Channel, (n: number) => unknown> = {
  messenger: (n) => messagingBody('page', n),
  instagram: (n) => messagingBody('instagram', n),
  whatsapp: whatsappBody,
};
const CHANNELS = Object.keys(BODIES) as Channel[];

export const bench: Bench = {
  title: 'channels: webhook parsing and Graph request building per channel, side by side',
  run: async () => {
    const data: Record<string, unknown> = {};
    const parseRows = [];
    for (const n of [1, 10, 100]) {
      const bodies = CHANNELS.map((c) => [c, BODIES[c](n)] as const);
      for (const [c, json] of bodies) {
        const events = parseWebhookBody(json).events.length;
        if (events !== n) throw new Error(`${c}: expected ${n} events, parsed ${events}`);
      }
      const results = interleave(bodies.map(([c, json]) => ({ name: c, op: () => parseWebhookBody(json) })));
      data[`parse:${n}`] = results;
      const messenger = results[0]!.nsPerOp.p50;
      for (const r of results)
        parseRows.push([r.name, n, r.nsPerOp.p50 / 1000 / n, r.nsPerOp.p50 / messenger] as const);
    }
    const steps: [string, Action][] = [
      ['typing_on', { sender_action: 'typing_on' }],
      [
        'message',
        {
          message: {
            text: 'Sure, the shop opens at nine.',
            quick_replies: [{ content_type: 'text', title: 'Thanks', payload: 'THANKS' }],
          },
        },
      ],
    ];
    const buildRows = [];
    for (const [name, action] of steps) {
      const results = interleave(
        CHANNELS.map((c) => ({
          name: c,
          op: () =>
            JSON.stringify(
              channelShapeOf(c).requestFor(
                { channel: c, pageId: ACCOUNT, psid: '16505550000', inboundMid: 'wamid.X' },
                action,
              ),
            ),
        })),
      );
      data[`build:${name}`] = results;
      for (const r of results) buildRows.push([r.name, name, r.nsPerOp.p50 / 1000] as const);
    }
    return {
      tables: [
        {
          title: 'Webhook body parsing per channel (lib/meta/)',
          columns: ['channel', 'events/body', 'µs/event', '÷ Messenger time'],
          rows: parseRows,
          notes: ['5 interleaved rounds of ~100 ms per variant after warm-up; median round.'],
        },
        {
          title: 'Graph request building per channel, with JSON.stringify (lib/meta/)',
          columns: ['channel', 'step', 'µs/step'],
          rows: buildRows,
        },
      ],
      data,
    };
  },
};
