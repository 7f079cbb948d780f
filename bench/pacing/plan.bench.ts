/**
 * lib/pacing/plan.ts: how much one `planSequence` costs per inbound event, for short, multi-reply and long
 * emoji-rich inputs (grapheme/word segmentation and the sha256 jitter dominate), next to the cost of
 * the segmentation alone so the share spent in Intl.Segmenter is visible. Then lib/pacing/words.ts's ASCII word
 * rules against ICU's segmenter on the same ASCII texts (they agree; the ASCII path spares ICU's ~7.7 ms
 * load at cold start, and must not cost more per message).
 */

import { loadPlanConfig } from '../../lib/pacing/config.ts';
import { planSequence } from '../../lib/pacing/plan.ts';
import { countGraphemes, wordsIn } from '../../lib/pacing/words.ts';
import type { Reply } from '../../lib/queue/reply.ts';
import type { Bench } from '../support/report.ts';
import { interleave } from '../support/stats.ts';

const config = loadPlanConfig({});
const text = (t: string): Reply => ({ message: { text: t } });

const cases: { label: string; inboundText: string; replies: Reply[] }[] = [
  { label: '1 short reply', inboundText: 'hi', replies: [text('Hello! How can I help?')] },
  {
    label: '3 replies',
    inboundText: 'Do you deliver to Lyon on Saturdays? And how much is it?',
    replies: [
      text('Yes, we deliver to Lyon every day except Sunday.'),
      text('Delivery is free above 40 €, otherwise 4.90 €.'),
      {
        message: {
          text: 'Want me to book a slot?',
          quick_replies: [{ content_type: 'text', title: 'Yes', payload: 'Y' }],
        },
      },
    ],
  },
  {
    label: '1 long emoji reply',
    inboundText: '👋🏽 '.repeat(40),
    replies: [text('Merci 🙏🏽 ! 👨‍👩‍👧 '.repeat(90).slice(0, 1990))],
  },
];

const ASCII_TEXTS = [
  'hi',
  "Do you deliver to Lyon on Saturdays? And how much is it? I'd need 3,000 units by 5.30.",
  'Sure thing: order #4412 ships tomorrow. '.repeat(25),
];

export const bench: Bench = {
  title: 'planner: planSequence per inbound event',
  run: async () => {
    const variants = cases.flatMap((c, i) => {
      const texts = c.replies.map((r) => ('message' in r ? (r.message.text ?? '') : ''));
      return [
        {
          name: `plan:${i}`,
          op: () =>
            planSequence({ seed: `evt-${i}`, inboundText: c.inboundText, replies: c.replies }, config),
        },
        { name: `segment:${i}`, op: () => texts.reduce((n, t) => n + countGraphemes(t), 0) },
      ];
    });
    const icu = new Intl.Segmenter('en', { granularity: 'word' });
    const icuCount = (t: string) => [...icu.segment(t)].filter((s) => s.isWordLike).length;
    const wordTexts = ASCII_TEXTS.flatMap((t, i) => [
      { name: `words-ascii:${i}`, op: () => wordsIn(t).length },
      { name: `words-icu:${i}`, op: () => icuCount(t) },
    ]);
    const results = new Map(interleave([...variants, ...wordTexts]).map((r) => [r.name, r]));
    const rows = cases.map((c, i) => {
      const plan = results.get(`plan:${i}`)!;
      const segment = results.get(`segment:${i}`)!;
      const steps = planSequence(
        { seed: 'x', inboundText: c.inboundText, replies: c.replies },
        config,
      ).length;
      return [
        c.label,
        steps,
        plan.opsPerSec,
        plan.nsPerOp.p50 / 1000,
        segment.nsPerOp.p50 / plan.nsPerOp.p50,
      ] as const;
    });
    return {
      tables: [
        {
          title: 'Planner (lib/pacing/plan.ts)',
          columns: ['input', 'steps', 'plans/s', 'µs/plan', 'share in grapheme count'],
          rows,
          notes: [
            'Default typing model; 5 interleaved rounds of ~100 ms per variant after warm-up; median round.',
          ],
        },
        {
          title: 'Words (lib/pacing/words.ts): ASCII rules vs Intl.Segmenter, same text',
          columns: ['text', 'chars', 'ASCII µs', 'ICU µs', 'ASCII ÷ ICU'],
          rows: ASCII_TEXTS.map((t, i) => {
            const ascii = results.get(`words-ascii:${i}`)!.nsPerOp.p50;
            const icuNs = results.get(`words-icu:${i}`)!.nsPerOp.p50;
            return [
              JSON.stringify(t.slice(0, 24)),
              t.length,
              ascii / 1000,
              icuNs / 1000,
              ascii / icuNs,
            ] as const;
          }),
          notes: ['Both give the same words (property test in test/unit/pacing/words.test.ts).'],
        },
      ],
      data: { results: [...results.values()] },
    };
  },
};
