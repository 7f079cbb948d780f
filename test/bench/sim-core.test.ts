/**
 * The scale simulation's core (bench/support/sim-events.ts, sim-fifo.ts, sim-lambda.ts) on cases small
 * enough to work out by hand, so the bench's figures rest on a loop known to order events, hold FIFO
 * groups, count in-flight messages and cap concurrency as SQS and Lambda do.
 */
import { describe, expect, it } from 'vitest';
import { createEventLoop } from '../../bench/support/sim-events.ts';
import { createSimFifo } from '../../bench/support/sim-fifo.ts';
import { createMapping } from '../../bench/support/sim-lambda.ts';

describe('the event loop', () => {
  it('runs events in time order, same-time events in scheduling order, and stops at the horizon', () => {
    const loop = createEventLoop();
    const seen: string[] = [];
    loop.at(30, () => seen.push(`c@${loop.now()}`));
    loop.at(10, () => {
      seen.push(`a@${loop.now()}`);
      loop.after(5, () => seen.push(`d@${loop.now()}`));
      loop.at(0, () => seen.push(`late@${loop.now()}`)); // in the past: runs now, after what is due now
    });
    loop.at(10, () => seen.push(`b@${loop.now()}`));
    loop.at(50, () => seen.push('never'));
    loop.runUntil(40);
    expect(seen).toEqual(['a@10', 'b@10', 'late@10', 'd@15', 'c@30']);
    expect(loop.now()).toBe(40);
    expect(loop.pending()).toBe(1);
    expect(loop.processed()).toBe(5);
  });

  it('orders 1,000 shuffled events exactly', () => {
    const loop = createEventLoop();
    const times = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    const out: number[] = [];
    for (const t of times) loop.at(t, () => out.push(loop.now()));
    loop.runUntil(Number.POSITIVE_INFINITY);
    expect(out).toEqual([...times].sort((a, b) => a - b));
  });
});

describe('a FIFO queue behind a mapping', () => {
  /**
   * By hand: 3 groups × 2 messages, each message handled in 100 ms then deleted, at most 2 instances, no
   * poll latency. t=0: A1, B1 start (2 instances). t=100: both done; C1 has been ready since 0, A2 and B2
   * since 100, so C1 and A2 start. t=200: B2 and C2 start. t=300: all six done, 600 ms billed.
   */
  it('serves groups in the order they became ready, one message per group at a time', () => {
    const loop = createEventLoop();
    const queue = createSimFifo<string>(loop);
    const account = { limit: 10, busy: 0 };
    const started: string[] = [];
    const stats = createMapping(
      loop,
      queue,
      account,
      { maxConcurrency: 2, batchSize: 1, pollLatencyMs: 0 },
      (messages, done) => {
        const m = messages[0]!;
        started.push(`${m.body}@${loop.now()}`);
        loop.after(100, () => {
          queue.remove(m);
          done();
        });
      },
    );
    queue.sendBatch(['A1', 'B1', 'C1', 'A2', 'B2', 'C2'].map((body) => ({ group: body[0]!, body })));
    loop.runUntil(1000);
    expect(started).toEqual(['A1@0', 'B1@0', 'C1@100', 'A2@100', 'B2@200', 'C2@200']);
    expect(stats.invocations).toBe(6);
    expect(stats.billedMs).toBe(600);
    expect(queue.calls.get('DeleteMessage')).toBe(6);
    expect(queue.inFlight()).toBe(0);
  });

  it('keeps a message in flight through its visibility timeout, and receives nothing at the quota', () => {
    const loop = createEventLoop();
    const queue = createSimFifo<string>(loop, 1);
    queue.sendBatch([
      { group: 'A', body: 'A1' },
      { group: 'B', body: 'B1' },
    ]);
    const [a1] = queue.receive(10); // the quota of 1 stops the receive after one message
    expect(a1?.body).toBe('A1');
    expect(queue.inFlight()).toBe(1);
    expect(queue.receive(10)).toEqual([]);
    expect(queue.starvedReceives()).toBe(2);
    queue.changeVisibility(a1!, 2);
    loop.runUntil(1999);
    expect(queue.inFlight()).toBe(1);
    loop.runUntil(2000);
    expect(queue.inFlight()).toBe(0);
    // B1 became ready first; A1 is back behind it, its receive count and first receive kept.
    const next = queue.receive(1);
    expect(next.map((m) => m.body)).toEqual(['B1']);
    queue.remove(next[0]!);
    const again = queue.receive(1)[0]!;
    expect([again.body, again.receiveCount, again.firstReceiveAt]).toEqual(['A1', 2, 0]);
  });
});
