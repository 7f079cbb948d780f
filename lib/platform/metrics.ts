/**
 * Every metric the functions emit (CloudWatch namespace `Ellipsis`, Powertools EMF), by stage. Telemetry's
 * `metric` accepts only these names, so code, tests, dashboards and alarms cannot drift apart: a new metric is
 * added here first, and test/unit/platform/metrics.test.ts checks that every alarm on the namespace names one.
 */
export const METRIC_NAMES = [
  // ingress (webhook): what arrived and what was refused
  'EventsReceived',
  'EventsIgnored', // dimension reason: echo, read, delivery, unknown_event, …
  'WebhookRejected', // dimension reason: the 4xx answered
  'SignatureFailures',
  'VerificationRejected',
  'DuplicateEventsDropped', // a Meta re-delivery of an event already answered (state table)
  'ResponderErrors',
  'InvalidReplies',
  'PlanErrors',
  'EventsEnqueued', // each event's prelude on the steps queue + the event on the responder queue
  'EnqueueFailures',
  'EnqueueBatches', // SendMessageBatch calls of one webhook body (lib/queue/batch-producer.ts)
  'Takeovers', // a person, or another app, took a conversation (or gave it back); dimensions kind, channel
  // queue (producer)
  'EnqueueRetries',
  'EnqueueOutOfOrder',
  // state table, webhook and sender: fail open, counted
  'LedgerReadFailed',
  'LedgerWriteFailed',
  // delivery (sender), per step; dimension action where it applies
  'StepsSent',
  'StepsDeferred',
  'StepsSkipped',
  'StepsCaughtUp',
  'StepsForcedEarly',
  'StepsDropped',
  'StepsWithheld', // a user's hold (a person, another app, the operator, an unreachable recipient); dimension reason
  'StepsRetried',
  'StepsThrottled',
  'StepsShed', // cosmetic step not sent: its account's call budget was full (lib/sender/budget.ts); dimension action
  'StepsBudgetDeferred', // message returned to a later second: its account's call budget was full
  'RateRefusals', // Graph 613 / 130429 / 131056: the budget's signal; dimension code
  'BudgetUnavailable', // the budget's counter could not answer: the step went out unbudgeted (fail open)
  'StepsHeldAccountRestricted', // returned unsent: Meta restricted the account (error 10/1893063, lib/sender/account-hold.ts)
  'AccountRestricted', // a 10/1893063 refusal: the account's sends are held (alarm on it)
  'StepsFailed', // dimension code: the Graph error code
  'StepsGivenUp',
  'StepsOutcomeUnknown', // a message with no answer that may have reached Meta: not retried
  'StepsAlreadySent', // a redelivered message Graph had already accepted (sent-step record): not resent
  'StepLateness', // ms against the step's own due time
  'StepLatenessVsPlan', // ms against the planned timeline
  'GraphLatency',
  'GraphUnexpectedSuccessBody',
  'PoisonMessages',
  'ProcessingErrors',
  'FollowersReturned',
  'VisibilityChangeFailed',
  'TypingOffFailed',
  'PageTokenInvalid',
  'RecipientUnreachable',
  // reply (responder function), per turn; ResponderErrors, InvalidReplies, VisibilityChangeFailed and
  // ProcessingErrors above are emitted by it too
  'TurnsDeferred', // handed back to wait for the quiet window
  'TurnMessages', // inbound messages answered together in one turn
  'TurnLatency', // ms the responder ran; dimension outcome: answered, silent, timed_out, failed
  'ResponderTimeouts', // ran out of thinking time: typing stopped, fallback sent
  'TurnsDeadLettered', // kept failing, or undecodable: copied to the responder DLQ
  'TurnsNotRetried', // failed with an error retrying cannot fix (LLM 401, ConfigError): dead-lettered at once
  'TurnsWithheld', // a turn a person holds: nothing answered, remembered as context
  'RepliesRestarted', // RESPONDER_MID_REPLY=restart: a reply's unsent part dropped for a newer message
  // console trigger (send)
  'ConsoleSends',
  'ConsoleSendRejected',
  'ConsoleSendFailed',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];
