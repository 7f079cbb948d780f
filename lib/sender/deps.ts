/** What the sender's batch loop depends on: all injected, so tests and the local stack pass their own. */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { GraphSendResult, SendActionRequest } from '../meta/graph/client.ts';
import type { UsageReading } from '../meta/graph/usage.ts';
import type { Ledger } from '../platform/ledger.ts';
import type { Telemetry } from '../platform/telemetry.ts';
import type { AccountHolds } from './account-hold.ts';
import type { SenderTuning } from './schedule.ts';

export type GraphSender = {
  sendAction: (request: SendActionRequest) => Promise<GraphSendResult>;
  /** The latest Graph usage reading, if the client keeps one. */
  usage?: () => UsageReading | undefined;
};

export type ConsumerDeps = {
  graph: GraphSender;
  sqs: Pick<SQSClient, 'send'>;
  queueUrl: string;
  dlqUrl?: string;
  ledger: Ledger;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  telemetry: Telemetry;
  tuning: SenderTuning;
  /** For backoff jitter; Math.random by default. */
  random?: () => number;
  /** Accounts Meta restricted from sending (account-hold.ts); the container's own by default. */
  accountHolds?: AccountHolds;
};
