/**
 * Compares what a user was planned to receive with what the fake Graph received, step by step: which
 * planned step each call was, order violations, duplicates, lost messages, skipped (skippable) steps, and
 * the planned vs actual gap between consecutive delivered steps. Pure: used by benches and tests.
 */
import type { QueuedStep } from '../../lib/queue/codec.ts';
import { actionKind } from '../../lib/queue/step.ts';
import type { RecordedCall } from './child-server.ts';

export type PlannedStep = { index: number; kind: string; text?: string; dueAt: number; plannedAt: number };

export const plannedOf = (steps: readonly QueuedStep[]): PlannedStep[] =>
  steps.map((s) => ({
    index: s.index,
    kind: actionKind(s.action),
    ...('message' in s.action && s.action.message.text !== undefined && { text: s.action.message.text }),
    dueAt: s.dueAt,
    plannedAt: s.plannedAt,
  }));

export type Delivered = { index: number; kind: string; plannedAt: number; actualAt: number };

export type Gap = {
  fromIndex: number;
  toIndex: number;
  /** The action kind of the step the gap leads to (its pause is the one measured). */
  kind: string;
  plannedMs: number;
  actualMs: number;
  errorMs: number;
};

export type UserFidelity = {
  delivered: Delivered[];
  gaps: Gap[];
  orderViolations: number;
  duplicates: number;
  /** Planned message steps that never arrived. */
  lostMessages: number;
  /** Planned indicator steps that never arrived (skippable typing_on, by design when late). */
  skipped: number;
  /** First delivered step's arrival minus its planned time. */
  firstLatencyMs?: number;
};

const same = (p: PlannedStep, c: RecordedCall) =>
  p.kind === c.kind && (p.kind !== 'message' || p.text === c.text);

export const analyseUser = (
  planned: readonly PlannedStep[],
  calls: readonly RecordedCall[],
): UserFidelity => {
  const sorted = [...calls].sort((a, b) => a.at - b.at);
  const delivered: Delivered[] = [];
  let pointer = 0;
  let orderViolations = 0;
  let duplicates = 0;
  const matched = new Set<number>();
  for (const call of sorted) {
    let found = -1;
    for (let q = pointer; q < planned.length; q++) {
      if (same(planned[q]!, call)) {
        found = q;
        break;
      }
    }
    if (found >= 0) {
      // A message matched further on while an earlier planned message is still missing: order broken.
      for (let q = pointer; q < found; q++) if (planned[q]!.kind === 'message') orderViolations++;
      matched.add(found);
      const step = planned[found]!;
      delivered.push({ index: step.index, kind: step.kind, plannedAt: step.dueAt, actualAt: call.at });
      pointer = found + 1;
      continue;
    }
    const earlier = planned.findIndex((p, q) => q < pointer && matched.has(q) && same(p, call));
    if (earlier >= 0 && call.kind === 'message') duplicates++;
    else if (earlier >= 0) duplicates++;
    else orderViolations++;
  }
  let lostMessages = 0;
  let skipped = 0;
  planned.forEach((p, q) => {
    if (matched.has(q)) return;
    if (p.kind === 'message') lostMessages++;
    else skipped++;
  });
  const gaps: Gap[] = [];
  for (let i = 1; i < delivered.length; i++) {
    const a = delivered[i - 1]!;
    const b = delivered[i]!;
    const plannedMs = b.plannedAt - a.plannedAt;
    const actualMs = b.actualAt - a.actualAt;
    gaps.push({
      fromIndex: a.index,
      toIndex: b.index,
      kind: b.kind,
      plannedMs,
      actualMs,
      errorMs: actualMs - plannedMs,
    });
  }
  const first = delivered[0];
  return {
    delivered,
    gaps,
    orderViolations,
    duplicates,
    lostMessages,
    skipped,
    ...(first && { firstLatencyMs: first.actualAt - first.plannedAt }),
  };
};
