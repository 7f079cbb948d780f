/**
 * Every AWS call a function makes, as concrete IAM requests (action, resource ARN, context keys) in one
 * deployment mode, simulated against the function's role from the packaged template with
 * @cloud-copilot/iam-simulate. The code's calls come from its bundle (sdk-calls.ts); this file says what
 * each call targets, which the code cannot tell statically (which queue a SendMessage goes to), plus the
 * calls Lambda makes with the role itself (logs; an SQS event source's polling; X-Ray when tracing).
 */
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import {
  isObject,
  type Json,
  type JsonObject,
  type Mode,
  parameterValue,
  resourcesInMode,
  type Template,
  type TemplateResource,
} from '../template-check/template.ts';
import { secretNamesRead, stackSecretNames } from './sdk-calls.ts';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
const PARTITION = 'aws';
// SSM decrypts SecureStrings with the account's key (alias/aws/ssm unless re-keyed): any key id will do.
const KMS_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

/** What a call targets: a template resource, every SSM parameter the function reads, or a fixed ARN. */
export type Target = { resource: string } | { secrets: 'read' | 'exist' } | { arn: string };
export type CodeCall = { action: string; on: Target; when?: (template: Template, mode: Mode) => boolean };

const llm = (t: Template, m: Mode) => parameterValue(t, m, 'ResponderKind') === 'llm';
const restart = (t: Template, m: Mode) => parameterValue(t, m, 'ResponderMidReply') === 'restart';
const stateTable = { resource: 'StateTable' };
const secretReads = (when?: CodeCall['when']): CodeCall[] => [
  { action: 'ssm:GetParameter', on: { secrets: 'read' }, ...(when ? { when } : {}) },
  { action: 'kms:Decrypt', on: { secrets: 'read' }, ...(when ? { when } : {}) },
];

/** By logical id of the function: what each code call targets. Its actions must equal the bundle's calls. */
export const CODE_CALLS: Record<string, CodeCall[]> = {
  WebhookLambdaFunction: [
    { action: 'sqs:SendMessage', on: { resource: 'StepsQueue' } },
    { action: 'sqs:SendMessage', on: { resource: 'ResponderQueue' } },
    { action: 'dynamodb:GetItem', on: stateTable },
    { action: 'dynamodb:PutItem', on: stateTable },
    // A person's takeover (lib/platform/conversation-state-dynamo.ts): a hold only ever lengthens.
    { action: 'dynamodb:UpdateItem', on: stateTable },
    ...secretReads(),
  ],
  SenderLambdaFunction: [
    { action: 'sqs:ChangeMessageVisibility', on: { resource: 'StepsQueue' } },
    // The one FIFO consumer can delete a finished group at once (the responder asks it to); the event source
    // mapping deletes with this same role anyway.
    { action: 'sqs:DeleteMessage', on: { resource: 'StepsQueue' } },
    { action: 'sqs:SendMessage', on: { resource: 'StepsDeadLetterQueue' } },
    { action: 'dynamodb:GetItem', on: stateTable },
    { action: 'dynamodb:PutItem', on: stateTable },
    { action: 'dynamodb:UpdateItem', on: stateTable },
    ...secretReads(),
  ],
  ResponderLambdaFunction: [
    { action: 'sqs:ChangeMessageVisibility', on: { resource: 'ResponderQueue' } },
    { action: 'sqs:DeleteMessage', on: { resource: 'ResponderQueue' } },
    { action: 'sqs:SendMessage', on: { resource: 'StepsQueue' } },
    { action: 'sqs:SendMessage', on: { resource: 'ResponderDeadLetterQueue' } },
    { action: 'dynamodb:GetItem', on: stateTable },
    { action: 'dynamodb:UpdateItem', on: stateTable },
    { action: 'dynamodb:PutItem', on: stateTable, when: (t, m) => llm(t, m) || restart(t, m) },
    ...secretReads(llm),
  ],
  SendLambdaFunction: [
    { action: 'sqs:SendMessage', on: { resource: 'StepsQueue' } },
    { action: 'dynamodb:GetItem', on: stateTable },
    { action: 'dynamodb:PutItem', on: stateTable },
    { action: 'dynamodb:UpdateItem', on: stateTable },
  ],
  DeployChecksFunction: [
    {
      action: 'schemas:DescribeRegistry',
      on: { arn: `arn:aws:schemas:${REGION}:${ACCOUNT}:registry/lambda-testevent-schemas` },
    },
    {
      action: 'schemas:CreateRegistry',
      on: { arn: `arn:aws:schemas:${REGION}:${ACCOUNT}:registry/lambda-testevent-schemas` },
    },
    { action: 'ssm:GetParameter', on: { secrets: 'exist' } },
  ],
};

export type IamRequest = { action: string; resource: string; context: Record<string, string> };

const PSEUDO: Record<string, string> = {
  'AWS::Partition': PARTITION,
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
};

/** A resource's ARN as CloudFormation's GetAtt Arn returns it, for the types the roles name. */
const arnOf = (resources: Record<string, TemplateResource>, id: string): string => {
  const r = resources[id];
  const p = r?.Properties ?? {};
  if (r?.Type === 'AWS::SQS::Queue') return `arn:aws:sqs:${REGION}:${ACCOUNT}:${p.QueueName}`;
  if (r?.Type === 'AWS::DynamoDB::Table') return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${p.TableName}`;
  if (r?.Type === 'AWS::Logs::LogGroup')
    return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${p.LogGroupName}:*`;
  throw new Error(`no ARN known for ${id} (${r?.Type ?? 'absent in this mode'})`);
};

/** A policy value with GetAtt Arn, pseudo-parameter Refs, Sub and Join made concrete strings. */
export const concrete = (resources: Record<string, TemplateResource>, value: Json): Json => {
  if (Array.isArray(value)) return value.map((v) => concrete(resources, v));
  if (!isObject(value)) return value;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn') return arnOf(resources, String(getAtt[0]));
  if (typeof value.Ref === 'string' && PSEUDO[value.Ref]) return PSEUDO[value.Ref] ?? '';
  if (typeof value['Fn::Sub'] === 'string')
    return value['Fn::Sub'].replace(/\$\{(AWS::\w+)\}/g, (_, name: string) => PSEUDO[name] ?? `<${name}>`);
  const join = value['Fn::Join'];
  if (Array.isArray(join))
    return ((join[1] ?? []) as Json[]).map((v) => concrete(resources, v)).join(String(join[0]));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, concrete(resources, v)]));
};

const parameterArn = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name}`;

const targetRequests = (template: Template, mode: Mode, functionId: string, call: CodeCall): IamRequest[] => {
  const resources = resourcesInMode(template, mode);
  const { on, action } = call;
  if ('arn' in on) return [{ action, resource: on.arn, context: {} }];
  if ('resource' in on) return [{ action, resource: arnOf(resources, on.resource), context: {} }];
  const names =
    on.secrets === 'exist' ? stackSecretNames(template, mode) : secretNamesRead(template, mode, functionId);
  return names.map(
    (name): IamRequest =>
      action === 'kms:Decrypt'
        ? {
            action,
            resource: KMS_KEY,
            // What SSM sends KMS for a SecureString (Systems Manager User Guide, Parameter Store and KMS).
            context: {
              'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
              'kms:EncryptionContext:PARAMETER_ARN': parameterArn(name),
            },
          }
        : { action, resource: parameterArn(name), context: {} },
  );
};

/** Calls Lambda itself makes with the function's role: its log stream, its SQS event source, X-Ray. */
const runtimeRequests = (template: Template, mode: Mode, functionId: string): IamRequest[] => {
  const resources = resourcesInMode(template, mode);
  const fn = resources[functionId]?.Properties ?? {};
  const logGroup = isObject(fn.LoggingConfig ?? null) ? (fn.LoggingConfig as JsonObject).LogGroup : undefined;
  const logGroupId = isObject(logGroup ?? null)
    ? String((logGroup as JsonObject).Ref)
    : functionId.replace(/LambdaFunction$/, 'LogGroup');
  const stream = `${arnOf(resources, logGroupId).replace(/:\*$/, '')}:log-stream:2026/12/07/[$LATEST]abc`;
  const logs = ['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
    action,
    resource: stream,
    context: {},
  }));
  const polled = Object.values(resources)
    .filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping')
    .filter(
      (r) =>
        JSON.stringify(r.Properties?.FunctionName) === JSON.stringify({ 'Fn::GetAtt': [functionId, 'Arn'] }),
    )
    .flatMap((r) => {
      const queueArn = concrete(resources, r.Properties?.EventSourceArn ?? null) as string;
      // Lambda's SQS poller (Lambda Developer Guide, execution role permissions for SQS).
      return [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes',
      ].map((action) => ({ action, resource: queueArn, context: {} }));
    });
  const tracing =
    parameterValue(template, mode, 'EnableTracing') === 'true' && functionId !== 'DeployChecksFunction';
  const xray = tracing
    ? ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'].map((action) => ({
        action,
        resource: '*',
        context: {},
      }))
    : [];
  return [...logs, ...polled, ...xray];
};

/** Every request a function's role must allow in a mode. */
export const requiredRequests = (template: Template, mode: Mode, functionId: string): IamRequest[] => [
  ...runtimeRequests(template, mode, functionId),
  ...(CODE_CALLS[functionId] ?? [])
    .filter((call) => call.when?.(template, mode) ?? true)
    .flatMap((call) => targetRequests(template, mode, functionId, call)),
];

/** The role's inline policies in a mode, as concrete IAM policy documents. */
export const rolePolicies = (
  template: Template,
  mode: Mode,
  roleId: string,
): { name: string; policy: Json }[] => {
  const resources = resourcesInMode(template, mode);
  const policies = (resources[roleId]?.Properties?.Policies ?? []) as {
    PolicyName: string;
    PolicyDocument: Json;
  }[];
  return policies.map((p) => ({ name: p.PolicyName, policy: concrete(resources, p.PolicyDocument) }));
};

export type Verdict = { request: IamRequest; result: string; errors?: string };

// KMS authorises by the key policy first. The AWS managed key aws/ssm lets any principal of the account decrypt
// through SSM whatever its role says, so the role's kms:Decrypt decides only for a customer managed key, whose
// default key policy delegates to IAM (KMS Developer Guide, default key policy): simulate that, the strict case.
const DEFAULT_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
};

// In @cloud-copilot/iam-policy's ValidatedPolicy form: runUnsafeSimulation loads a plain resource policy
// without the name its explain reads (a TypeError), and keeps the name of one in this form.
const KEY_POLICY = {
  __validated: true,
  policyDocument: DEFAULT_KEY_POLICY,
  metadata: { name: 'key-policy' },
  errors: [],
};

// The validated engine only knows variable context keys written with '/' (aws:PrincipalTag/<key>) and drops
// kms:EncryptionContext:<key> ("ignoredContextKeys"), which would deny every SSM decrypt. Requests carrying
// one run on its unvalidated engine, which evaluates the keys as given; everything else is validated.
const needsUnvalidated = (request: IamRequest) =>
  Object.keys(request.context).some((key) => key.startsWith('kms:EncryptionContext:'));

/** Each request simulated against the policies: 'Allowed', 'ImplicitlyDenied', … or 'error' with the reason. */
export const simulate = async (
  requests: IamRequest[],
  policies: { name: string; policy: Json }[],
  roleName: string,
): Promise<Verdict[]> =>
  Promise.all(
    requests.map(async (request): Promise<Verdict> => {
      const simulation: Simulation = {
        request: {
          principal: `arn:aws:iam::${ACCOUNT}:role/${roleName}`,
          action: request.action,
          resource: { resource: request.resource, accountId: ACCOUNT },
          contextVariables: request.context,
        },
        identityPolicies: policies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(request.action.startsWith('kms:') ? { resourcePolicy: KEY_POLICY } : {}),
      };
      if (needsUnvalidated(request)) return { request, result: runUnsafeSimulation(simulation, {}) };
      const response = await runSimulation(simulation, {});
      if (response.resultType === 'error')
        return { request, result: 'error', errors: JSON.stringify(response.errors) };
      return { request, result: response.overallResult };
    }),
  );
