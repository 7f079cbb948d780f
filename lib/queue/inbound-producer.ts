/**
 * Enqueues one inbound event on the responder FIFO queue: group = the user's (page + PSID), so one user's
 * messages reach the responder in order and a slow user never holds up another; dedup id = the event's id,
 * so a Meta re-delivery within 5 minutes is dropped by SQS itself (the webhook's ledger covers the rest).
 * Throttling and server faults are retried by the producers' one policy (retry.ts).
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { groupIdOf } from './codec.ts';
import { encodeInbound, type QueuedInbound } from './inbound-codec.ts';
import { dedupIdOf, type EnqueueDeps, withShard } from './producer.ts';
import { backoff, EnqueueError, isRetryableSdkError, retryPolicyOf, sdkErrorName } from './retry.ts';

export const enqueueInbound = async (deps: EnqueueDeps, inbound: QueuedInbound): Promise<void> => {
  const { event } = inbound;
  let body: string;
  try {
    body = encodeInbound(inbound);
  } catch {
    throw new EnqueueError('invalid_step', false, 'inbound event does not match the responder queue schema');
  }
  const groupId = groupIdOf(event.pageId, event.psid);
  const command = new SendMessageCommand({
    QueueUrl: withShard(deps, groupId).queueUrl,
    MessageBody: body,
    MessageGroupId: groupId,
    MessageDeduplicationId: dedupIdOf(event.eventId, 0),
  });
  const policy = retryPolicyOf(deps);
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.sqs.send(command);
      return;
    } catch (error) {
      const name = sdkErrorName(error);
      if (!isRetryableSdkError(error) || attempt >= policy.maxAttempts) {
        throw new EnqueueError(
          'sdk_error',
          isRetryableSdkError(error),
          `SendMessage (inbound) failed: ${name}`,
        );
      }
      deps.telemetry?.metric('EnqueueRetries', 1);
      await backoff(policy, attempt);
    }
  }
};
