import { describe, expect, it } from 'vitest';
import { lambdaContext } from '../../../local/lambda-context.ts';

describe('lambdaContext (local stack)', () => {
  it('names the function and request, and counts the remaining time down to zero, never below', () => {
    let now = 1_000;
    const context = lambdaContext('sender', 'local-7', 31_000, () => now);
    expect(context).toMatchObject({
      functionName: 'sender',
      awsRequestId: 'local-7',
      invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:sender',
      logGroupName: '/aws/lambda/sender',
    });
    expect(context.getRemainingTimeInMillis()).toBe(30_000);
    now = 30_000;
    expect(context.getRemainingTimeInMillis()).toBe(1_000);
    now = 40_000;
    expect(context.getRemainingTimeInMillis()).toBe(0);
  });
});
