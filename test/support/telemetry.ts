/** In-memory telemetry, the test double of lib/platform/telemetry.ts: everything emitted, inspectable. */
import type { MetricName } from '../../lib/platform/metrics.ts';
import type { LogAttributes, LogLevel, MetricUnitName, Telemetry } from '../../lib/platform/telemetry.ts';

export type RecordedLog = { level: LogLevel; message: string; attributes: LogAttributes };
export type RecordedMetric = {
  name: MetricName;
  value: number;
  unit: MetricUnitName;
  dimensions: Record<string, string>;
};

export const memoryTelemetry = (): Telemetry & { logs: RecordedLog[]; metrics: RecordedMetric[] } => {
  const logs: RecordedLog[] = [];
  const metrics: RecordedMetric[] = [];
  const emit =
    (level: LogLevel) =>
    (message: string, attributes: LogAttributes = {}) => {
      logs.push({ level, message, attributes });
    };
  return {
    logs,
    metrics,
    log: { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') },
    metric: (name, value, unit = 'Count', dimensions = {}) => {
      metrics.push({ name, value, unit, dimensions });
    },
    flush: () => {},
  };
};

/** Sum of a recorded metric, optionally filtered by dimensions. */
export const metricTotal = (
  metrics: readonly RecordedMetric[],
  name: MetricName,
  dimensions: Record<string, string> = {},
): number =>
  metrics
    .filter((m) => m.name === name && Object.entries(dimensions).every(([k, v]) => m.dimensions[k] === v))
    .reduce((sum, m) => sum + m.value, 0);
