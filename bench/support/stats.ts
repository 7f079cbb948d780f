/**
 * Small statistics for benches: percentiles over samples, and interleaved rounds so that compared variants
 * share the same noisy moments of a shared 2-core machine (ratios measured side by side, never thresholds).
 */

export type Distribution = {
  n: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
};

/** Nearest-rank percentile of already-sorted samples (q in 0..1). */
export const percentileOfSorted = (sorted: readonly number[], q: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
};

export const distribution = (samples: readonly number[]): Distribution => {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: percentileOfSorted(sorted, 0.5),
    p95: percentileOfSorted(sorted, 0.95),
    p99: percentileOfSorted(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.length > 0 ? sum / sorted.length : Number.NaN,
  };
};

export const median = (samples: readonly number[]): number => distribution(samples).p50;

/** A variant of a micro-benchmark: `op` is called `batch` times per timed sample. */
export type Variant = { name: string; op: () => unknown };

export type VariantResult = {
  name: string;
  /** Median over rounds of operations per second. */
  opsPerSec: number;
  /** Per-round ns/op, for the spread. */
  nsPerOp: Distribution;
};

/** Keeps results alive so the JIT cannot drop the measured work. */
let sink: unknown;
export const consume = (value: unknown): void => {
  sink = value;
};
export const lastSink = (): unknown => sink;

/**
 * Runs variants interleaved: warm-up, then `rounds` rounds in which each variant (order rotated per round)
 * runs for about `roundMs`. Returns ops/s per variant from the median round.
 */
export const interleave = (
  variants: readonly Variant[],
  options: { rounds?: number; roundMs?: number; warmupMs?: number } = {},
): VariantResult[] => {
  const rounds = options.rounds ?? 5;
  const roundMs = options.roundMs ?? 100;
  const warmupMs = options.warmupMs ?? 100;
  const runFor = (variant: Variant, ms: number): number => {
    const start = performance.now();
    let ops = 0;
    let batch = 1;
    while (performance.now() - start < ms) {
      for (let i = 0; i < batch; i++) consume(variant.op());
      ops += batch;
      if (batch < 1024) batch *= 2;
    }
    return ((performance.now() - start) * 1e6) / ops;
  };
  for (const v of variants) runFor(v, warmupMs);
  const perVariant = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + r) % variants.length]!;
      perVariant.get(v.name)!.push(runFor(v, roundMs));
    }
  }
  return variants.map((v) => {
    const ns = distribution(perVariant.get(v.name)!);
    return { name: v.name, opsPerSec: 1e9 / ns.p50, nsPerOp: ns };
  });
};

/** Rounds for display: integers above 100, else 3 significant digits. */
export const fmt = (value: number): string => {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(3)).toString();
};
