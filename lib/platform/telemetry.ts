/**
 * Logs and metrics behind two small function types, so the core takes them as plain parameters and tests
 * can read what was emitted. In Lambda they are Powertools Logger (JSON) and Metrics (EMF).
 *
 * Secrets never reach an output: every log record goes through lib/platform/redaction.ts first.
 */
import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricName } from './metrics.ts';
import { redactor, redactValue } from './redaction.ts';

export type LogAttributes = Record<string, unknown>;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = Record<LogLevel, (message: string, attributes?: LogAttributes) => void>;

export type MetricUnitName = 'Count' | 'Milliseconds';
type Metric = (
  name: MetricName,
  value: number,
  unit?: MetricUnitName,
  dimensions?: Record<string, string>,
) => void;

export type Telemetry = { log: Log; metric: Metric; flush: () => void };

/** A short, stable, non-reversible label for a PSID: enough to follow one user through the logs. */
export const userLabel = (psid: string): string =>
  createHash('sha256').update(psid).digest('hex').slice(0, 12);

const metricUnit = { Count: MetricUnit.Count, Milliseconds: MetricUnit.Milliseconds } as const;

/** Powertools-backed telemetry for a Lambda function. `secrets` is read at each call, so it may be filled in after cold start. */
export const powertoolsTelemetry = (serviceName: string, secrets: () => readonly string[]): Telemetry => {
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({ serviceName, namespace: 'Ellipsis' });
  const emit =
    (level: LogLevel) =>
    (message: string, attributes: LogAttributes = {}) => {
      const redact = redactor(secrets());
      logger[level](redact(message), redactValue(attributes, redact) as LogAttributes);
    };
  return {
    log: { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') },
    metric: (name, value, unit = 'Count', dimensions) => {
      if (dimensions && Object.keys(dimensions).length > 0) {
        const single = metrics.singleMetric();
        single.addDimensions(dimensions);
        single.addMetric(name, metricUnit[unit], value);
        return;
      }
      metrics.addMetric(name, metricUnit[unit], value);
    },
    flush: () => metrics.publishStoredMetrics(),
  };
};
