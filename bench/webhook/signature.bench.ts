/**
 * lib/webhook/signature.ts: verifying X-Hub-Signature-256 for Meta-sized bodies, next to a bare HMAC of the same
 * bytes (the floor), and the reject path for a forged signature (must cost the same: timing-safe).
 */
import { createHmac } from 'node:crypto';
import { verifySignature } from '../../lib/webhook/signature.ts';
import type { Bench } from '../support/report.ts';
import { interleave } from '../support/stats.ts';

const SECRET = 'bench-app-secret-0123456789abcdef';
const sizes = [1_024, 16_384, 262_144, 1_048_576];

export const bench: Bench = {
  title: 'webhook signature: verifySignature vs bare HMAC, accept and reject paths',
  run: async () => {
    const rows = [];
    const data: Record<string, unknown> = {};
    for (const size of sizes) {
      const body = Buffer.alloc(size, '{"object":"page","entry":[]} ');
      const good = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
      const forged = `sha256=${'0'.repeat(64)}`;
      const results = interleave(
        [
          { name: 'accept', op: () => verifySignature(body, good, SECRET) },
          { name: 'reject', op: () => verifySignature(body, forged, SECRET) },
          { name: 'hmac', op: () => createHmac('sha256', SECRET).update(body).digest() },
        ],
        size > 100_000 ? { rounds: 5, roundMs: 60, warmupMs: 60 } : {},
      );
      const by = Object.fromEntries(results.map((r) => [r.name, r]));
      data[String(size)] = results;
      rows.push([
        `${size / 1024} KiB`,
        by.accept!.opsPerSec,
        by.accept!.nsPerOp.p50 / 1000,
        by.accept!.nsPerOp.p50 / by.hmac!.nsPerOp.p50,
        by.reject!.nsPerOp.p50 / by.accept!.nsPerOp.p50,
        (size * by.accept!.opsPerSec) / 1024 / 1024,
      ] as const);
    }
    return {
      tables: [
        {
          title: 'Signature check (lib/webhook/signature.ts)',
          columns: ['body', 'verifies/s', 'µs/verify', '÷ bare HMAC', 'reject ÷ accept time', 'MiB/s'],
          rows,
          notes: ['Interleaved rounds (accept, forged reject, bare createHmac) after warm-up; median round.'],
        },
      ],
      data,
    };
  },
};
