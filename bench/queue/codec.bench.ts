/**
 * lib/queue/codec.ts: cost of encoding/decoding one queued step (zod validation + ASCII escaping) next to bare
 * JSON.stringify/JSON.parse of the same object, so the overhead of validating at the edge is a ratio.
 */
import { decodeStep, encodeStep, type QueuedStep } from '../../lib/queue/codec.ts';
import type { Bench } from '../support/report.ts';
import { interleave } from '../support/stats.ts';

const textStep: QueuedStep = {
  v: 1,
  pageId: '104729348572910',
  psid: '7712384950193847',
  sequenceId: 'm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
  index: 3,
  count: 4,
  delayMs: 2350,
  plannedAt: 1_760_000_000_000,
  dueAt: 1_760_000_004_120,
  action: {
    message: {
      text: 'Merci pour ton message ! On regarde ça et on revient vers toi très vite 🙂',
      quick_replies: [
        { content_type: 'text', title: 'Oui', payload: 'YES' },
        { content_type: 'text', title: 'Non', payload: 'NO' },
      ],
    },
  },
};
const typingStep: QueuedStep = { ...textStep, index: 1, action: { sender_action: 'typing_on' } };

export const bench: Bench = {
  title: 'queue codec: encode/decode one step vs bare JSON',
  run: async () => {
    const rows = [];
    const data: Record<string, unknown> = {};
    for (const [label, step] of [
      ['message step', textStep],
      ['typing_on step', typingStep],
    ] as const) {
      const encoded = encodeStep(step);
      const bare = JSON.stringify(step);
      const results = interleave([
        { name: 'encodeStep', op: () => encodeStep(step) },
        { name: 'JSON.stringify', op: () => JSON.stringify(step) },
        { name: 'decodeStep', op: () => decodeStep(encoded) },
        { name: 'JSON.parse', op: () => JSON.parse(bare) },
      ]);
      const ops = Object.fromEntries(results.map((r) => [r.name, r]));
      data[label] = { bytes: encoded.length, results };
      rows.push([
        label,
        encoded.length,
        ops.encodeStep!.opsPerSec,
        ops.encodeStep!.opsPerSec / ops['JSON.stringify']!.opsPerSec,
        ops.decodeStep!.opsPerSec,
        ops.decodeStep!.opsPerSec / ops['JSON.parse']!.opsPerSec,
        ops.decodeStep!.nsPerOp.p50 / 1000,
      ] as const);
    }
    return {
      tables: [
        {
          title: 'Queue codec (lib/queue/codec.ts)',
          columns: [
            'body',
            'bytes',
            'encode ops/s',
            'encode ÷ JSON.stringify',
            'decode ops/s',
            'decode ÷ JSON.parse',
            'decode µs/op',
          ],
          rows,
          notes: ['5 interleaved rounds of ~100 ms per variant after warm-up; median round.'],
        },
      ],
      data,
    };
  },
};
