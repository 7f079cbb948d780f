/**
 * Every AWS call each function makes, simulated against its packaged role (@cloud-copilot/iam-simulate) in
 * five deployment modes: no call may be denied. The calls come from the code in each bundle
 * (infra/iam/sdk-calls.ts), so a new command in the code without a target in infra/iam/simulate.ts fails
 * here, and a permission removed from infra/iam/roles.yml fails the simulation (proved with planted removals).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleSources } from '../../infra/iam/bundle-sources.ts';
import { sdkCallsInSource } from '../../infra/iam/sdk-calls.ts';
import { CODE_CALLS, requiredRequests, rolePolicies, simulate } from '../../infra/iam/simulate.ts';
import { repoRoot } from '../../infra/package.ts';
import type { JsonObject, Mode, Template } from '../../infra/template-check/template.ts';
import { packagedTemplate } from './packaged-template.ts';

const FUNCTIONS: Record<string, { source: string; role: string }> = {
  WebhookLambdaFunction: { source: 'functions/webhook.ts', role: 'WebhookRole' },
  SenderLambdaFunction: { source: 'functions/sender.ts', role: 'SenderRole' },
  ResponderLambdaFunction: { source: 'functions/responder.ts', role: 'ResponderRole' },
  SendLambdaFunction: { source: 'functions/send.ts', role: 'SendRole' },
  DeployChecksFunction: { source: 'infra/deploy-checks/handler.cjs', role: 'DeployChecksRole' },
};

const MODES: [string, Mode][] = [
  ['defaults', {}],
  ['per-account tokens', { AccountIds: '111111111111111,222222222222222' }],
  ['LLM responder', { ResponderKind: 'llm' }],
  ['mid-reply restart, tracing', { ResponderMidReply: 'restart', EnableTracing: 'true' }],
  [
    'everything on',
    {
      AccountIds: '111111111111111',
      ResponderKind: 'llm',
      ResponderMidReply: 'restart',
      EnableTracing: 'true',
      SenderReservedConcurrency: '400',
      AlarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops',
    },
  ],
];

let template: Template;
const codeCalls: Record<string, string[]> = {};

beforeAll(async () => {
  template = await packagedTemplate();
  for (const [id, { source }] of Object.entries(FUNCTIONS)) {
    const files = source.endsWith('.cjs')
      ? [{ path: source, text: readFileSync(join(repoRoot, source), 'utf8') }]
      : await bundleSources(source);
    codeCalls[id] = [...new Set(files.flatMap((f) => sdkCallsInSource(f.text)))].sort();
  }
}, 180_000);

const declaredActions = (id: string) => [...new Set((CODE_CALLS[id] ?? []).map((c) => c.action))].sort();

type Statements = { PolicyDocument: { Statement: JsonObject[] } }[];
/** A role's statement by Sid, in a copy of the template to plant a change in. */
const statementOf = (t: Template, roleId: string, sid: string): JsonObject => {
  const policies = (t.Resources[roleId]?.Properties?.Policies ?? []) as Statements;
  const found = policies.flatMap((p) => p.PolicyDocument.Statement).find((s) => s.Sid === sid);
  if (!found) throw new Error(`${roleId} has no statement ${sid}`);
  return found;
};

/** Every request of every function in a mode that its role does not allow, as readable lines. */
const denials = async (t: Template, mode: Mode): Promise<string[]> => {
  const lines = await Promise.all(
    Object.entries(FUNCTIONS).map(async ([id, { role }]) => {
      const verdicts = await simulate(requiredRequests(t, mode, id), rolePolicies(t, mode, role), role);
      return verdicts
        .filter((v) => v.result !== 'Allowed')
        .map(
          (v) =>
            `${id} ${v.request.action} ${v.request.resource}: ${v.result}${v.errors ? ` ${v.errors}` : ''}`,
        );
    }),
  );
  return lines.flat();
};

describe("each function's SDK calls, from its bundle", () => {
  it('are the calls infra/iam/simulate.ts gives a target, no more, no fewer', () => {
    for (const id of Object.keys(FUNCTIONS)) expect(codeCalls[id], id).toEqual(declaredActions(id));
    expect(codeCalls.SenderLambdaFunction).toContain('sqs:ChangeMessageVisibility');
    expect(codeCalls.DeployChecksFunction).toEqual([
      'schemas:CreateRegistry',
      'schemas:DescribeRegistry',
      'ssm:GetParameter',
    ]);
  });

  it('are read from the code: a new command, batch or not, shows up', () => {
    const text = `import { PurgeQueueCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
      await sqs.send(new PurgeQueueCommand({ QueueUrl })); await sqs.send(new SendMessageBatchCommand(x));`;
    expect(sdkCallsInSource(text)).toEqual(['sqs:PurgeQueue', 'sqs:SendMessage']);
  });
});

describe('simulated against the packaged roles', () => {
  it.each(MODES)('every call is allowed (%s)', async (_, mode) => {
    expect(await denials(template, mode)).toEqual([]);
  });

  it('simulates a real number of requests, secrets and the SQS poller included', () => {
    const requests = requiredRequests(template, MODES[4]![1], 'SenderLambdaFunction');
    const actions = requests.map((r) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining(['sqs:ReceiveMessage', 'kms:Decrypt', 'xray:PutTraceSegments']),
    );
    expect(requests.filter((r) => r.action === 'ssm:GetParameter').map((r) => r.resource)).toEqual([
      'arn:aws:ssm:us-east-1:123456789012:parameter/ellipsis/dev/accounts/111111111111111',
      'arn:aws:ssm:us-east-1:123456789012:parameter/ellipsis/dev/app-secret',
    ]);
  });
});

describe('planted removals, each denied', () => {
  /** The template with one statement (by Sid) taken out of a role. */
  const without = (roleId: string, sid: string): Template => {
    const copy = structuredClone(template);
    const policies = (copy.Resources[roleId]?.Properties?.Policies ?? []) as { PolicyDocument: JsonObject }[];
    for (const p of policies) {
      const statements = p.PolicyDocument.Statement as JsonObject[];
      const kept = statements.filter((s) => s.Sid !== sid);
      expect(kept.length, `${roleId} has ${sid}`).toBe(statements.length - 1);
      p.PolicyDocument.Statement = kept;
    }
    return copy;
  };

  it("the sender's dead-letter send", async () => {
    const denied = await denials(without('SenderRole', 'DeadLetterPoisonSteps'), {});
    expect(denied).toEqual([
      'SenderLambdaFunction sqs:SendMessage arn:aws:sqs:us-east-1:123456789012:ellipsis-dev-steps-dlq.fifo: ImplicitlyDenied',
    ]);
  });

  it("the webhook's KMS decrypt via SSM (one denial per secret it reads)", async () => {
    const denied = await denials(without('WebhookRole', 'DecryptStageSecretsViaSsm'), {});
    expect(denied).toHaveLength(2);
    expect(denied.every((d) => d.startsWith('WebhookLambdaFunction kms:Decrypt'))).toBe(true);
  });

  it("the KMS condition evaluated, not ignored: another stage's parameters only", async () => {
    const copy = structuredClone(template);
    const statement = statementOf(copy, 'SenderRole', 'DecryptStageSecretsViaSsm');
    const like = (statement.Condition as { StringLike: JsonObject }).StringLike;
    like['kms:EncryptionContext:PARAMETER_ARN'] = JSON.parse(
      JSON.stringify(like['kms:EncryptionContext:PARAMETER_ARN']).replace(
        '/ellipsis/dev/',
        '/ellipsis/prod/',
      ),
    );
    const denied = await denials(copy, {});
    expect(denied).toHaveLength(2);
    expect(denied.every((d) => d.startsWith('SenderLambdaFunction kms:Decrypt'))).toBe(true);
  });

  it("the deploy checks' registry creation", async () => {
    const denied = await denials(without('DeployChecksRole', 'TestEventRegistry'), {});
    expect(denied.map((d) => d.split(' ').slice(0, 2).join(' ')).sort()).toEqual([
      'DeployChecksFunction schemas:CreateRegistry',
      'DeployChecksFunction schemas:DescribeRegistry',
    ]);
  });

  it('a resource narrowed: the webhook may enqueue steps but no longer inbound events', async () => {
    const copy = structuredClone(template);
    const statement = statementOf(copy, 'WebhookRole', 'EnqueueStepsAndEvents');
    statement.Resource = [{ 'Fn::GetAtt': ['StepsQueue', 'Arn'] }];
    expect(await denials(copy, {})).toEqual([
      'WebhookLambdaFunction sqs:SendMessage arn:aws:sqs:us-east-1:123456789012:ellipsis-dev-responder.fifo: ImplicitlyDenied',
    ]);
  });
});
