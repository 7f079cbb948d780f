/**
 * lib/webhook/body.ts + events.ts: decoding (strict UTF-8 + JSON with big-int source access) and normalising Meta
 * webhook bodies of 1, 10 and 100 messaging events, next to a bare JSON.parse of the same bytes.
 */

import { parseWebhookBody } from '../../lib/meta/inbound.ts';
import { parseJsonBody } from '../../lib/webhook/body.ts';
import { batchedWebhookBody, usersBatch } from '../../local/meta.ts';
import type { Bench } from '../support/report.ts';
import { interleave } from '../support/stats.ts';

export const bench: Bench = {
  title: 'webhook body parsing: parseJsonBody + parseWebhookBody vs JSON.parse',
  run: async () => {
    const rows = [];
    const data: Record<string, unknown> = {};
    for (const n of [1, 10, 100]) {
      const body = batchedWebhookBody(usersBatch(n));
      const decoded = parseJsonBody(body);
      if (!decoded.ok) throw new Error(`bench body does not decode: ${decoded.reason}`);
      const events = parseWebhookBody(decoded.json).events.length;
      if (events !== n) throw new Error(`expected ${n} events, parsed ${events}`);
      const results = interleave([
        {
          name: 'parse',
          op: () => {
            const d = parseJsonBody(body);
            return d.ok ? parseWebhookBody(d.json) : d;
          },
        },
        { name: 'JSON.parse', op: () => JSON.parse(body.toString('utf8')) },
      ]);
      const [ours, bare] = results;
      data[String(n)] = { bytes: body.length, results };
      rows.push([
        n,
        body.length,
        ours!.opsPerSec,
        (ours!.opsPerSec * n) / 1000,
        ours!.nsPerOp.p50 / 1000 / n,
        ours!.nsPerOp.p50 / bare!.nsPerOp.p50,
      ] as const);
    }
    return {
      tables: [
        {
          title: 'Webhook body parsing (lib/webhook/body.ts + events.ts)',
          columns: ['events/body', 'bytes', 'bodies/s', 'k events/s', 'µs/event', '÷ JSON.parse time'],
          rows,
          notes: ['5 interleaved rounds of ~100 ms per variant after warm-up; median round.'],
        },
      ],
      data,
    };
  },
};
