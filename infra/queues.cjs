/**
 * The queue shards of serverless.yml (`--param="queueShards=N"`, docs/scale.md): shard 0 is the StepsQueue /
 * ResponderQueue pair written out in serverless.yml (so N = 1 is the stack it always was, and growing N never
 * replaces it); shards 1…N−1 are copies of it named `…-steps-s<i>.fifo` / `…-responder-s<i>.fifo`, each
 * with its own FIFO DLQ, and each an event source of the same function. serverless.yml reads the pieces with
 * `${file(infra/queues.cjs):<name>}`; osls loads .cjs with require() and calls each exported function with
 * its variable resolver (osls, variables "file" source: a JS file's exported function).
 *
 * One queue holds at most 120,000 in-flight messages (AWS SQS Developer Guide, "Amazon SQS message
 * quotas"); the producers spread users over the shards by a stable hash of their message group
 * (lib/queue/shards.ts) and the consumers answer each record on the queue it came from.
 */

/** The two queue families: shard 0's logical ids in serverless.yml, and how the copies are named. */
const FAMILIES = {
  steps: { queue: 'StepsQueue', dlq: 'StepsDeadLetterQueue', name: 'steps' },
  responder: { queue: 'ResponderQueue', dlq: 'ResponderDeadLetterQueue', name: 'responder' },
};

/** AWS quota: 1,000 queues are plenty; the bound keeps a typo (queueShards=400) from creating hundreds. */
const MAX_SHARDS = 64;

const shardCount = async ({ resolveVariable }) => {
  const raw = await resolveVariable('param:queueShards');
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_SHARDS)
    throw new Error(`queueShards must be a whole number from 1 to ${MAX_SHARDS} (got "${raw}")`);
  return n;
};

const range = (n) => Array.from({ length: n }, (_, i) => i);
const queueId = (family, i) => (i === 0 ? family.queue : `${family.queue}Shard${i}`);
const dlqId = (family, i) => (i === 0 ? family.dlq : `${family.dlq}Shard${i}`);

/** A comma list of the shards' URLs (shard 0 first), as one CloudFormation string. */
const urlList = (family, idOf) => async (ctx) => ({
  'Fn::Join': [',', range(await shardCount(ctx)).map((i) => ({ Ref: idOf(family, i) }))],
});

/** The shards' ARNs; with one shard the ARN itself, so N = 1 packages the template it always did. */
const arnList = (family, idOf) => async (ctx) => {
  const arns = range(await shardCount(ctx)).map((i) => ({ 'Fn::GetAtt': [idOf(family, i), 'Arn'] }));
  return arns.length === 1 ? arns[0] : arns;
};
const arnArray = async (value) => [value].flat();

/** One sqs event per shard, the settings of `template` (custom.<fn>QueueEvent) on each. */
const events = (family, templatePath) => async (ctx) => {
  const template = await ctx.resolveVariable(templatePath);
  return range(await shardCount(ctx)).map((i) => ({
    sqs: { ...template, arn: { 'Fn::GetAtt': [queueId(family, i), 'Arn'] } },
  }));
};

/** Shard i of a family: shard 0's queue and DLQ with the shard's names, redriving to its own DLQ. */
const shardResources = async (ctx, family, i) => {
  // Shard 0 as serverless.yml writes it (the first `resources` item): the copies cannot drift from it.
  const [queue, dlq, service, stage] = await Promise.all([
    ctx.resolveVariable(`self:resources.0.Resources.${family.queue}.Properties`),
    ctx.resolveVariable(`self:resources.0.Resources.${family.dlq}.Properties`),
    ctx.resolveVariable('self:service'),
    ctx.resolveVariable('sls:stage'),
  ]);
  const base = { queue, dlq };
  const name = `${service}-${stage}-${family.name}-s${i}`;
  const queueArn = {
    'Fn::Sub': `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${name}.fifo`,
  };
  return {
    [queueId(family, i)]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        ...base.queue,
        QueueName: `${name}.fifo`,
        RedrivePolicy: {
          ...base.queue.RedrivePolicy,
          deadLetterTargetArn: { 'Fn::GetAtt': [dlqId(family, i), 'Arn'] },
        },
      },
    },
    [dlqId(family, i)]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        ...base.dlq,
        QueueName: `${name}-dlq.fifo`,
        RedriveAllowPolicy: { redrivePermission: 'byQueue', sourceQueueArns: [queueArn] },
      },
    },
  };
};

/** Shards 1…N−1 of both families, as a `resources` item. */
const resources = async (ctx) => {
  const n = await shardCount(ctx);
  const parts = await Promise.all(
    range(n)
      .slice(1)
      .flatMap((i) => Object.values(FAMILIES).map((family) => shardResources(ctx, family, i))),
  );
  return { Resources: Object.assign({}, ...parts) };
};

module.exports = {
  stepsQueueUrls: urlList(FAMILIES.steps, queueId),
  stepsDlqUrls: urlList(FAMILIES.steps, dlqId),
  responderQueueUrls: urlList(FAMILIES.responder, queueId),
  responderDlqUrls: urlList(FAMILIES.responder, dlqId),
  stepsQueueArns: arnList(FAMILIES.steps, queueId),
  stepsDlqArns: arnList(FAMILIES.steps, dlqId),
  responderQueueArns: arnList(FAMILIES.responder, queueId),
  responderDlqArns: arnList(FAMILIES.responder, dlqId),
  /** The webhook enqueues on both families. */
  allQueueArns: async (ctx) => [
    ...(await arnArray(await arnList(FAMILIES.steps, queueId)(ctx))),
    ...(await arnArray(await arnList(FAMILIES.responder, queueId)(ctx))),
  ],
  senderEvents: events(FAMILIES.steps, 'self:custom.senderQueueEvent'),
  responderEvents: events(FAMILIES.responder, 'self:custom.responderQueueEvent'),
  resources,
};
