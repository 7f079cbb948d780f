import { describe, expect, it } from 'vitest';
import { userLabel } from '../../../lib/platform/telemetry.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';

describe('telemetry', () => {
  it('labels users with a stable hash, not the PSID', () => {
    expect(userLabel('1234567890')).toBe(userLabel('1234567890'));
    expect(userLabel('1234567890')).not.toContain('1234567890');
    expect(userLabel('1234567890')).toHaveLength(12);
  });

  it('records metrics with dimensions for tests to sum', () => {
    const t = memoryTelemetry();
    t.metric('StepsSent', 1, 'Count', { action: 'typing_on' });
    t.metric('StepsSent', 2, 'Count', { action: 'message' });
    expect(metricTotal(t.metrics, 'StepsSent')).toBe(3);
    expect(metricTotal(t.metrics, 'StepsSent', { action: 'message' })).toBe(2);
  });
});
