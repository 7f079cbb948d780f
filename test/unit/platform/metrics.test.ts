/**
 * The metric names are one list (lib/platform/metrics.ts): telemetry's type accepts nothing else, this file
 * checks the other two directions — every listed name is emitted somewhere in lib/, and every alarm on the
 * `Ellipsis` namespace in serverless.yml or infra/ names a listed metric.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES } from '../../../lib/platform/metrics.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const filesUnder = (dir: string, ext: RegExp): string[] =>
  readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => ext.test(f))
    .map((f) => join(root, dir, f));

/** Each `MetricName:` with the nearest `Namespace:` (CloudFormation alarms write them side by side). */
const alarmMetrics = (yaml: string): { namespace: string; metric: string }[] => {
  const lines = yaml.split('\n');
  const namespaces = lines.flatMap((line, i) => {
    const namespace = /^\s*(?:- )?Namespace:\s*["']?([^"'\s]+)/.exec(line)?.[1];
    return namespace === undefined ? [] : [{ at: i, namespace }];
  });
  return lines.flatMap((line, i) => {
    const metric = /^\s*(?:- )?MetricName:\s*["']?([\w-]+)/.exec(line)?.[1];
    if (metric === undefined) return [];
    const nearest = [...namespaces].sort((a, b) => Math.abs(a.at - i) - Math.abs(b.at - i))[0];
    return [{ namespace: nearest?.namespace ?? '(none)', metric }];
  });
};

/** Metrics that a log metric filter in the YAML defines (its MetricTransformations), not lib/. */
const filterMetrics = (yaml: string): string[] =>
  [
    ...yaml.matchAll(/MetricTransformations:\s*\n(?:[ \t]+.*\n)*?[ \t]+(?:- )?MetricName:\s*["']?([\w-]+)/g),
  ].map((m) => m[1] ?? '');

describe('metric names', () => {
  it('are listed once each', () => {
    expect(new Set(METRIC_NAMES).size).toBe(METRIC_NAMES.length);
  });

  it('are each emitted somewhere in lib/ (no dead names for a dashboard to chart)', () => {
    const sources = filesUnder('lib', /\.ts$/)
      .filter((f) => !f.endsWith('metrics.ts'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(METRIC_NAMES.filter((name) => !sources.includes(`'${name}'`))).toEqual([]);
  });

  it('cover every alarm on the Ellipsis namespace (but those of log metric filters)', () => {
    const yamls = [join(root, 'serverless.yml'), ...filesUnder('infra', /\.ya?ml$/)].map((f) =>
      readFileSync(f, 'utf8'),
    );
    const fromFilters = yamls.flatMap(filterMetrics);
    const ours = yamls
      .flatMap(alarmMetrics)
      .filter((a) => a.namespace.includes('Ellipsis') && !fromFilters.includes(a.metric));
    const listed: readonly string[] = METRIC_NAMES;
    expect(ours.filter((a) => !listed.includes(a.metric))).toEqual([]);
  });

  it('finds the metrics log metric filters define', () => {
    const yaml = [
      'F:',
      '  Type: AWS::Logs::MetricFilter',
      '  Properties:',
      '    FilterPattern: "{ $.status = 429 }"',
      '    MetricTransformations:',
      '      - MetricNamespace: Ellipsis',
      '        MetricName: WebhookThrottledRequests',
      'A:',
      '  Properties:',
      '    MetricName: StepsGivenUp',
    ].join('\n');
    expect(filterMetrics(yaml)).toEqual(['WebhookThrottledRequests']);
  });

  it('finds alarm metrics and their namespace in CloudFormation YAML', () => {
    const yaml = [
      'A:',
      '  Type: AWS::CloudWatch::Alarm',
      '  Properties:',
      '    Namespace: Ellipsis',
      '    MetricName: StepsGivenUp',
      'B:',
      '  Properties:',
      '    MetricName: Errors',
      '    Namespace: AWS/Lambda',
    ].join('\n');
    expect(alarmMetrics(yaml)).toEqual([
      { namespace: 'Ellipsis', metric: 'StepsGivenUp' },
      { namespace: 'AWS/Lambda', metric: 'Errors' },
    ]);
  });
});
