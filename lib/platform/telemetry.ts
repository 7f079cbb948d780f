/**
 * Logs and metrics behind two small function types, so the core takes them as plain parameters and tests
 * can read what was emitted. In Lambda they are Powertools Logger (JSON) and Metrics (EMF).
 *
 * Secrets never reach an output: every log record is serialised through a redactor that replaces each
 * known secret value (and its appsecret_proof / access_token query forms) with "[redacted]".
 */
import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export type LogAttributes = Record<string, unknown>;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = Record<LogLevel, (message: string, attributes?: LogAttributes) => void>;

export type MetricUnitName = 'Count' | 'Milliseconds';
export type Metric = (
  name: string,
  value: number,
  unit?: MetricUnitName,
  dimensions?: Record<string, string>,
) => void;

export type Telemetry = { log: Log; metric: Metric; flush: () => void };

/** A short, stable, non-reversible label for a PSID: enough to follow one user through the logs. */
export const userLabel = (psid: string): string =>
  createHash('sha256').update(psid).digest('hex').slice(0, 12);

/** A truncated secret is still a leak: any token-like run sharing this many characters with one is redacted. */
const PIECE_LENGTH = 12;
const TOKEN_RUN = new RegExp(`[A-Za-z0-9_\\-+/=.]{${PIECE_LENGTH},}`, 'g');

/**
 * Replaces each secret (and URL-query token forms) in a string, and any token-like run that contains a
 * 12-character piece of a secret (an upstream message that echoes a cut token). Secrets shorter than 6
 * characters are ignored rather than shredding ordinary words.
 */
export const redactor = (secrets: readonly string[]) => {
  const known = secrets.filter((s) => s.length >= 6);
  const pieces = new Set(
    known.flatMap((s) =>
      Array.from({ length: Math.max(0, s.length - PIECE_LENGTH + 1) }, (_, i) =>
        s.slice(i, i + PIECE_LENGTH),
      ),
    ),
  );
  const holdsPiece = (run: string): boolean => {
    for (let i = 0; i + PIECE_LENGTH <= run.length; i++)
      if (pieces.has(run.slice(i, i + PIECE_LENGTH))) return true;
    return false;
  };
  return (text: string): string => {
    let out = text.replace(/((?:access_token|appsecret_proof)=)[^&\s"']+/g, '$1[redacted]');
    for (const s of known) out = out.split(s).join('[redacted]');
    return pieces.size === 0 ? out : out.replace(TOKEN_RUN, (run) => (holdsPiece(run) ? '[redacted]' : run));
  };
};

/** Deep-copies a value with every string redacted; errors become {name, message} (stacks dropped: they echo input). */
export const redactValue = (value: unknown, redact: (s: string) => string, depth = 0): unknown => {
  if (typeof value === 'string') return redact(value);
  if (value instanceof Error) return { name: value.name, message: redact(value.message) };
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, redact, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, redact, depth + 1)]));
};

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

export type RecordedLog = { level: LogLevel; message: string; attributes: LogAttributes };
export type RecordedMetric = {
  name: string;
  value: number;
  unit: MetricUnitName;
  dimensions: Record<string, string>;
};

/** In-memory telemetry for tests and the local stack: everything emitted, inspectable. */
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

/** Sum of a recorded metric, optionally filtered by dimensions — a test helper kept next to its recorder. */
export const metricTotal = (
  metrics: readonly RecordedMetric[],
  name: string,
  dimensions: Record<string, string> = {},
): number =>
  metrics
    .filter((m) => m.name === name && Object.entries(dimensions).every(([k, v]) => m.dimensions[k] === v))
    .reduce((sum, m) => sum + m.value, 0);
