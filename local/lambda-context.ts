/** The Lambda Context the local stack hands its handlers: names, ids and the remaining time, nothing more. */
import type { Context } from 'aws-lambda';

export const lambdaContext = (
  functionName: string,
  requestId: string,
  deadline: number,
  now: () => number,
): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
  memoryLimitInMB: '256',
  awsRequestId: requestId,
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: 'local',
  getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
  done: () => {},
  fail: () => {},
  succeed: () => {},
});
