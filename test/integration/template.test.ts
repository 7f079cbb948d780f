/**
 * The deployed shape, read from the CloudFormation template `osls package` generates. CI packages before
 * the tests; run alone, this test packages itself when the template is missing or older than its inputs.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageDir, repoRoot, runPackage, templatePath } from '../../infra/package.ts';
import { loadLlmConfig } from '../../lib/bots/llm/config.ts';
import { loadSendConfig } from '../../lib/console/config.ts';
import { STATE_TABLE_KEY, STATE_TABLE_TTL_ATTRIBUTE } from '../../lib/platform/ledger.ts';
import { loadSenderConfig } from '../../lib/sender/config.ts';
import { DEFERRAL_RECEIVES, retryBudget } from '../../lib/sender/schedule.ts';
import { loadWebhookConfig } from '../../lib/webhook/config.ts';
import { withPackageLock } from '../infra/packaged-template.ts';

type Json = unknown;
type Resource = { Type: string; Properties?: Record<string, Json>; Condition?: string };
type Template = {
  Resources: Record<string, Resource>;
  Conditions?: Record<string, Json>;
  Parameters?: Record<string, { Default?: Json }>;
};

/** Files whose change alters the template. */
const templateInputs = (): string[] => [
  join(repoRoot, 'serverless.yml'),
  join(repoRoot, 'infra', 'test-events.cjs'),
  join(repoRoot, 'infra', 'queues.cjs'),
  ...['iam', 'alarms', 'events', 'deploy-checks'].flatMap((dir) =>
    readdirSync(join(repoRoot, 'infra', dir)).map((f) => join(repoRoot, 'infra', dir, f)),
  ),
];

const isStale = (): boolean => {
  if (!existsSync(templatePath)) return true;
  const builtAt = statSync(templatePath).mtimeMs;
  return templateInputs().some((f) => statSync(f).mtimeMs > builtAt);
};

let template: Template;
const res = (logicalId: string): Resource => {
  const r = template.Resources[logicalId];
  if (!r) throw new Error(`template has no resource ${logicalId}`);
  return r;
};
const props = (logicalId: string): Record<string, Json> => res(logicalId).Properties ?? {};
const ofType = (type: string): [string, Resource][] =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

const FUNCTIONS = {
  webhook: 'WebhookLambdaFunction',
  sender: 'SenderLambdaFunction',
  send: 'SendLambdaFunction',
  responder: 'ResponderLambdaFunction',
};
const ROLES = { webhook: 'WebhookRole', sender: 'SenderRole', send: 'SendRole', responder: 'ResponderRole' };

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: Json;
  Condition?: Record<string, Record<string, Json>>;
  conditional: boolean;
};

/** Statements of a role's inline policies; a `Fn::If` statement yields its non-NoValue branches. */
const statementsOf = (roleId: string): Statement[] => {
  const policies = (props(roleId).Policies ?? []) as { PolicyDocument: { Statement: Json[] } }[];
  return policies.flatMap((p) =>
    p.PolicyDocument.Statement.flatMap((s): Statement[] => {
      const branches = (s as { 'Fn::If'?: [string, Json, Json] })['Fn::If'];
      if (!branches) return [{ ...(s as Omit<Statement, 'conditional'>), conditional: false }];
      return [branches[1], branches[2]]
        .filter((b) => !(b && typeof b === 'object' && 'Ref' in b))
        .map((b) => ({ ...(b as Omit<Statement, 'conditional'>), conditional: true }));
    }),
  );
};
const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement): Json[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);
const unconditionalActions = (roleId: string): string[] =>
  statementsOf(roleId)
    .filter((s) => !s.conditional)
    .flatMap(actionsOf)
    .sort();
const statementWith = (roleId: string, action: string): Statement => {
  const found = statementsOf(roleId).filter((s) => actionsOf(s).includes(action));
  expect(found, `${roleId} statements granting ${action}`).toHaveLength(1);
  return found[0]!;
};
const getAtt = (logicalId: string, attribute: string) => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** Stack parameter values by name (overrides of the template's defaults): one deployment mode. */
type Mode = Record<string, string>;
const ONE_TOKEN: Mode = {};
const PER_ACCOUNT: Mode = { AccountIds: '111111111111111,222222222222222' };

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null;

/** A condition of the template, evaluated as CloudFormation would for the mode (Equals / Not / Ref). */
const conditionHolds = (name: string, mode: Mode): boolean => {
  const truth = (c: Json): boolean => {
    if (!isObject(c)) throw new Error(`unsupported condition ${JSON.stringify(c)}`);
    if ('Condition' in c) return conditionHolds(String(c.Condition), mode);
    const [a, b] = (c['Fn::Equals'] ?? c['Fn::Not'] ?? []) as Json[];
    if ('Fn::Not' in c) return !truth(a);
    if ('Fn::Equals' in c) return resolved(a, mode) === resolved(b, mode);
    throw new Error(`unsupported condition ${JSON.stringify(c)}`);
  };
  return truth(template.Conditions?.[name]);
};

/** A value with parameter Refs and Fn::If resolved for the mode; other intrinsics are left as they are. */
const resolved = (v: Json, mode: Mode): Json => {
  if (Array.isArray(v)) return v.map((item) => resolved(item, mode));
  if (!isObject(v)) return v;
  const ref = v.Ref;
  if (typeof ref === 'string' && template.Parameters?.[ref])
    return mode[ref] ?? template.Parameters[ref].Default ?? '';
  const branches = v['Fn::If'] as [string, Json, Json] | undefined;
  if (branches) return resolved(conditionHolds(branches[0], mode) ? branches[1] : branches[2], mode);
  return v;
};

/** Env of a function in a mode, with other CloudFormation references replaced by plausible deployed values. */
const deployedEnv = (functionId: string, mode: Mode = ONE_TOKEN): Record<string, string> => {
  const vars = ((props(functionId).Environment as { Variables?: Record<string, Json> })?.Variables ??
    {}) as Record<string, Json>;
  const placeholder = (name: string, v: Json): string => {
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    if (name.endsWith('_URL')) return 'https://sqs.us-east-1.amazonaws.com/123456789012/placeholder.fifo';
    // A shard list (infra/queues.cjs): one placeholder URL per Ref in its Fn::Join.
    if (name.endsWith('_URLS')) {
      const refs = ((v as { 'Fn::Join'?: [string, Json[]] })['Fn::Join']?.[1] ?? []).length;
      return Array.from(
        { length: refs },
        (_, i) => `https://sqs.us-east-1.amazonaws.com/123456789012/s${i}.fifo`,
      ).join(',');
    }
    return 'resolved-by-cloudformation';
  };
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, placeholder(k, resolved(v, mode))]));
};

let stage: string;

beforeAll(() => {
  if (isStale()) {
    const result = runPackage();
    if (!result.ok)
      throw new Error(`\`npm run package\` failed, so there is no template to check:\n${result.output}`);
  }
  template = JSON.parse(readFileSync(templatePath, 'utf8')) as Template;
  const name = String(props(FUNCTIONS.send).FunctionName);
  const m = /^ellipsis-(.+)-send$/.exec(name);
  if (!m) throw new Error(`unexpected send function name ${name}`);
  stage = m[1]!;
}, 180_000);

describe('steps queue', () => {
  it('is a high-throughput FIFO queue with explicit dedup ids and SQS-managed encryption', () => {
    expect(props('StepsQueue')).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      SqsManagedSseEnabled: true,
    });
    expect(props('StepsQueue').QueueName).toMatch(/\.fifo$/);
    expect(props('StepsQueue').MessageRetentionPeriod).toEqual(expect.any(Number));
  });

  it('redrives to a FIFO dead-letter queue after the same receive count the sender budgets with', () => {
    expect(props('StepsDeadLetterQueue')).toMatchObject({ FifoQueue: true, SqsManagedSseEnabled: true });
    const redrive = props('StepsQueue').RedrivePolicy as {
      deadLetterTargetArn: Json;
      maxReceiveCount: number;
    };
    expect(redrive.deadLetterTargetArn).toEqual(getAtt('StepsDeadLetterQueue', 'Arn'));
    const senderCount = deployedEnv(FUNCTIONS.sender).QUEUE_MAX_RECEIVE_COUNT;
    expect(Number(senderCount)).toBe(redrive.maxReceiveCount);
    // Deferrals must leave room for at least a few transient-failure retries.
    expect(redrive.maxReceiveCount).toBeGreaterThan(DEFERRAL_RECEIVES + 1);
    expect(retryBudget(redrive.maxReceiveCount)).toBeGreaterThanOrEqual(3);
  });

  it('keeps messages invisible at least six times the sender timeout (AWS Lambda with SQS guidance)', () => {
    const timeout = Number(props(FUNCTIONS.sender).Timeout);
    expect(timeout).toBeGreaterThan(0);
    expect(Number(props('StepsQueue').VisibilityTimeout)).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('feeds the responder up to 10 inbound events (a burst is one turn), with its own DLQ and a timeout under the visibility', () => {
    const mapping = ofType('AWS::Lambda::EventSourceMapping').find(([, m]) =>
      JSON.stringify(m.Properties?.EventSourceArn).includes('ResponderQueue'),
    );
    const p = mapping![1].Properties!;
    expect(p.FunctionName).toEqual(getAtt(FUNCTIONS.responder, 'Arn'));
    expect(p.BatchSize).toBe(10);
    expect(p.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const queue = props('ResponderQueue');
    expect(queue.FifoQueue).toBe(true);
    expect((queue.RedrivePolicy as { deadLetterTargetArn: Json }).deadLetterTargetArn).toEqual(
      getAtt('ResponderDeadLetterQueue', 'Arn'),
    );
    const timeout = Number(props(FUNCTIONS.responder).Timeout);
    expect(timeout).toBeGreaterThanOrEqual(60);
    expect(Number(queue.VisibilityTimeout)).toBeGreaterThanOrEqual(6 * timeout);
    // Without RESPONDER=llm: no secret; of the state table only who holds each conversation (a person's
    // takeover, docs/takeover.md) — the LLM grants are tested below.
    expect([...new Set(unconditionalActions(ROLES.responder))]).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
      ].sort(),
    );
  });

  it('feeds the sender one step per invocation with partial batch responses and a concurrency cap', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(2);
    const p = mappings.find(([, m]) =>
      JSON.stringify(m.Properties?.EventSourceArn).includes('StepsQueue'),
    )![1].Properties!;
    expect(p.EventSourceArn).toEqual(getAtt('StepsQueue', 'Arn'));
    expect(p.FunctionName).toEqual(getAtt(FUNCTIONS.sender, 'Arn'));
    expect(p.BatchSize).toBe(1);
    expect(p.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const max = (p.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency;
    expect(max).toBeGreaterThanOrEqual(2);
  });
});

describe('state table', () => {
  it('is one on-demand, encrypted table with TTL, keyed as lib/platform/ledger.ts writes it', () => {
    expect(ofType('AWS::DynamoDB::Table').map(([id]) => id)).toEqual(['StateTable']);
    expect(props('StateTable')).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: STATE_TABLE_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: STATE_TABLE_KEY, AttributeType: 'S' }],
      TimeToLiveSpecification: { AttributeName: STATE_TABLE_TTL_ATTRIBUTE, Enabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('is named to the webhook (answered events), the sender (aborts) and the console trigger (pause / resume)', () => {
    const variables = (id: string) =>
      (props(id).Environment as { Variables: Record<string, Json> }).Variables;
    expect(variables(FUNCTIONS.webhook).STATE_TABLE_NAME).toEqual({ Ref: 'StateTable' });
    expect(variables(FUNCTIONS.sender).STATE_TABLE_NAME).toEqual({ Ref: 'StateTable' });
    expect(variables(FUNCTIONS.send).STATE_TABLE_NAME).toEqual({ Ref: 'StateTable' });
    // The deployed webhook keeps answered events at least as long as Meta re-delivers (36 h, 48 h floor).
    expect(loadWebhookConfig(deployedEnv(FUNCTIONS.webhook)).EVENT_TTL_SECONDS).toBeGreaterThanOrEqual(
      172_800,
    );
  });
});

describe('functions', () => {
  it('run nodejs24.x on arm64, each with its own role and log group with retention', () => {
    // DeployChecksFunction only answers CloudFormation (test/infra/deploy-checks.test.ts).
    const fns = ofType('AWS::Lambda::Function').filter(([id]) => id !== 'DeployChecksFunction');
    expect(fns.map(([id]) => id).sort()).toEqual(Object.values(FUNCTIONS).sort());
    for (const [name, id] of Object.entries(FUNCTIONS)) {
      const p = props(id);
      expect(p.Runtime, id).toBe('nodejs24.x');
      expect(p.Architectures, id).toEqual(['arm64']);
      expect(p.Role, id).toEqual(getAtt(ROLES[name as keyof typeof ROLES], 'Arn'));
      const logGroup = `${name[0]!.toUpperCase()}${name.slice(1)}LogGroup`;
      expect(props(logGroup).RetentionInDays, logGroup).toEqual(expect.any(Number));
    }
    // No shared default role that every function would inherit.
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it('serve GET and POST /webhook through the HTTP API', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties?.RouteKey);
    expect(routes.sort()).toEqual(['GET /webhook', 'POST /webhook']);
  });

  it.each([
    ['one-token', ONE_TOKEN],
    ['per-account', PER_ACCOUNT],
  ])(
    'carry every variable their config needs, with secrets only as SSM parameter names of the stage (%s mode)',
    (_, mode) => {
      const webhook = loadWebhookConfig(deployedEnv(FUNCTIONS.webhook, mode));
      const sender = loadSenderConfig(deployedEnv(FUNCTIONS.sender, mode));
      loadSendConfig(deployedEnv(FUNCTIONS.send, mode));
      const tokens =
        'single' in sender.tokens ? [sender.tokens.single] : Object.values(sender.tokens.byAccount);
      for (const source of [...Object.values(webhook.secrets), ...Object.values(sender.secrets), ...tokens]) {
        expect(source).toEqual({
          param: expect.stringMatching(new RegExp(`^/ellipsis/${stage}/[a-z0-9/-]+$`)),
        });
      }
    },
  );

  it('answer every account with the one token by default (param accountIds empty)', () => {
    expect(template.Parameters?.AccountIds?.Default).toBe('');
    expect(deployedEnv(FUNCTIONS.webhook).META_ACCOUNT_IDS).toBe('');
    const sender = loadSenderConfig(deployedEnv(FUNCTIONS.sender));
    expect(sender.tokens).toEqual({ single: { param: `/ellipsis/${stage}/page-access-token` } });
  });

  it('with accountIds set, answer only those accounts, each with its own token under the accounts prefix', () => {
    const ids = PER_ACCOUNT.AccountIds!;
    expect(deployedEnv(FUNCTIONS.webhook, PER_ACCOUNT).META_ACCOUNT_IDS).toBe(ids);
    const sender = loadSenderConfig(deployedEnv(FUNCTIONS.sender, PER_ACCOUNT));
    expect(sender.tokens).toEqual({
      byAccount: Object.fromEntries(
        ids.split(',').map((id) => [`account:${id}`, { param: `/ellipsis/${stage}/accounts/${id}` }]),
      ),
    });
  });

  it("leave AWS_* variables to Lambda (reserved names; the local stage's dummy credentials never deploy)", () => {
    for (const id of Object.values(FUNCTIONS)) {
      expect(
        Object.keys(deployedEnv(id)).filter((name) => name.startsWith('AWS_')),
        id,
      ).toEqual([]);
    }
  });

  it('never hold a secret value in the environment', () => {
    for (const mode of [ONE_TOKEN, PER_ACCOUNT]) {
      for (const id of Object.values(FUNCTIONS)) {
        for (const [name, value] of Object.entries(deployedEnv(id, mode))) {
          if (/SECRET|TOKEN|PASSWORD|PRIVATE/.test(name)) expect(name, id).toMatch(/_PARAM(_PREFIX)?$/);
          // Empty: the other mode's variable, which counts as unset.
          if (/_PARAM(_PREFIX)?$/.test(name) && value !== '')
            expect(value, `${id} ${name}`).toMatch(/^\/ellipsis\//);
        }
      }
    }
    const text = readFileSync(templatePath, 'utf8');
    expect(text).not.toMatch(/EAA[A-Za-z0-9]{20,}/); // Meta page access tokens start with EAA
  });
});

describe('IAM, one least-privilege role per function', () => {
  it('grants no wildcard actions, and a wildcard resource only to X-Ray when tracing is on', () => {
    for (const roleId of Object.values(ROLES)) {
      for (const s of statementsOf(roleId)) {
        expect(s.Effect).toBe('Allow');
        for (const action of actionsOf(s)) expect(action, roleId).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
        if (resourcesOf(s).includes('*')) {
          expect(s.conditional, roleId).toBe(true);
          expect(
            actionsOf(s).every((a) => a.startsWith('xray:')),
            roleId,
          ).toBe(true);
        }
      }
    }
  });

  it('lets the webhook only write its logs, enqueue steps, read and record answered events, read its own secrets', () => {
    expect(unconditionalActions(ROLES.webhook)).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'kms:Decrypt',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:SendMessage',
        'ssm:GetParameter',
      ].sort(),
    );
    expect(statementWith(ROLES.webhook, 'sqs:SendMessage').Resource).toEqual([
      getAtt('StepsQueue', 'Arn'),
      getAtt('ResponderQueue', 'Arn'),
    ]);
    expect(statementWith(ROLES.webhook, 'logs:PutLogEvents').Resource).toEqual(
      getAtt('WebhookLogGroup', 'Arn'),
    );
    const ledger = statementWith(ROLES.webhook, 'dynamodb:GetItem');
    expect(actionsOf(ledger).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(ledger.Resource).toEqual(getAtt('StateTable', 'Arn'));
  });

  it('lets the sender consume/defer steps, dead-letter, use the state table and read its own secrets', () => {
    expect(unconditionalActions(ROLES.sender)).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'kms:Decrypt',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
        'ssm:GetParameter',
      ].sort(),
    );
    expect(statementWith(ROLES.sender, 'sqs:ReceiveMessage').Resource).toEqual(getAtt('StepsQueue', 'Arn'));
    expect(statementWith(ROLES.sender, 'sqs:SendMessage').Resource).toEqual(
      getAtt('StepsDeadLetterQueue', 'Arn'),
    );
    expect(statementWith(ROLES.sender, 'dynamodb:PutItem').Resource).toEqual(getAtt('StateTable', 'Arn'));
  });

  it('lets the console trigger only write its logs, enqueue steps and pause or resume a user', () => {
    expect(unconditionalActions(ROLES.send).sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sqs:SendMessage',
    ]);
    expect(statementWith(ROLES.send, 'dynamodb:UpdateItem').Resource).toEqual(getAtt('StateTable', 'Arn'));
    expect(statementWith(ROLES.send, 'sqs:SendMessage').Resource).toEqual(getAtt('StepsQueue', 'Arn'));
  });

  it('scopes SSM reads to named parameters of the stage and KMS decrypts to SSM calls for them', () => {
    for (const roleId of [ROLES.webhook, ROLES.sender]) {
      const ssm = statementWith(roleId, 'ssm:GetParameter');
      for (const r of resourcesOf(ssm).map((resource) => resolved(resource, ONE_TOKEN))) {
        expect((r as { 'Fn::Sub': string })['Fn::Sub']).toMatch(
          new RegExp(`:parameter/ellipsis/${stage}/[a-z-]+$`), // a name, never a wildcard
        );
      }
      const kms = statementWith(roleId, 'kms:Decrypt');
      expect(kms.Condition?.StringEquals?.['kms:ViaService']).toEqual({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not JS
        'Fn::Sub': 'ssm.${AWS::Region}.amazonaws.com',
      });
      expect(JSON.stringify(kms.Condition?.StringLike?.['kms:EncryptionContext:PARAMETER_ARN'])).toContain(
        `:parameter/ellipsis/${stage}/*`,
      );
    }
  });
});

/** The responder role's statements that only exist under `condition`. */
const responderStatementsUnder = (condition: string): Statement[] => {
  const policies = (props(ROLES.responder).Policies ?? []) as { PolicyDocument: { Statement: Json[] } }[];
  return policies.flatMap((p) =>
    p.PolicyDocument.Statement.flatMap((s) => {
      const branches = (s as { 'Fn::If'?: [string, Statement, Json] })['Fn::If'];
      return branches?.[0] === condition ? [branches[1]] : [];
    }),
  );
};
describe('per-account tokens (param accountIds)', () => {
  const ssmResources = (roleId: string, mode: Mode): string[] =>
    resourcesOf(statementWith(roleId, 'ssm:GetParameter')).map((r) =>
      String((resolved(r, mode) as { 'Fn::Sub': string })['Fn::Sub']),
    );
  const parameterArn = (name: string) =>
    `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/ellipsis/${stage}/${name}`;

  it('is decided by one condition on the AccountIds parameter', () => {
    expect(template.Conditions?.PerAccountTokens).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AccountIds' }, ''] }],
    });
    expect(conditionHolds('PerAccountTokens', ONE_TOKEN)).toBe(false);
    expect(conditionHolds('PerAccountTokens', PER_ACCOUNT)).toBe(true);
  });

  it('lets the sender read the shared token, or only the accounts prefix, never both', () => {
    expect(ssmResources(ROLES.sender, ONE_TOKEN).sort()).toEqual(
      [parameterArn('app-secret'), parameterArn('page-access-token')].sort(),
    );
    expect(ssmResources(ROLES.sender, PER_ACCOUNT).sort()).toEqual(
      [parameterArn('app-secret'), parameterArn('accounts/*')].sort(),
    );
  });

  it('gives the webhook no token in either mode (it only filters by account id)', () => {
    for (const mode of [ONE_TOKEN, PER_ACCOUNT]) {
      expect(ssmResources(ROLES.webhook, mode).sort()).toEqual(
        [parameterArn('app-secret'), parameterArn('verify-token')].sort(),
      );
    }
  });
});

describe('RESPONDER=llm (param responderKind=llm)', () => {
  const llmStatements = (): Statement[] => responderStatementsUnder('LlmResponder');

  it('is off by default: the condition tests the ResponderKind parameter, which defaults to rules', () => {
    expect(template.Conditions?.LlmResponder).toEqual({ 'Fn::Equals': [{ Ref: 'ResponderKind' }, 'llm'] });
    expect(template.Parameters?.ResponderKind?.Default).toBe('rules');
    expect(deployedEnv(FUNCTIONS.responder).RESPONDER).toBe('rules');
  });

  it('grants the responder, only then, the state table and its own key: one named parameter, decrypted via SSM', () => {
    const statements = llmStatements();
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'kms:Decrypt',
        'ssm:GetParameter',
      ].sort(),
    );
    const memory = statements.find((s) => actionsOf(s).includes('dynamodb:GetItem'));
    expect(memory?.Resource).toEqual(getAtt('StateTable', 'Arn'));
    const key = statements.find((s) => actionsOf(s).includes('ssm:GetParameter'));
    expect(JSON.stringify(key?.Resource)).toMatch(new RegExp(`:parameter/ellipsis/${stage}/llm-api-key"}$`));
    const kms = statements.find((s) => actionsOf(s).includes('kms:Decrypt'));
    expect(JSON.stringify(kms?.Condition?.StringLike)).toContain(`:parameter/ellipsis/${stage}/*`);
  });

  it('gives the responder the LLM key as an SSM parameter name of the stage and the state table', () => {
    const env = deployedEnv(FUNCTIONS.responder);
    const config = loadLlmConfig({ ...env, LLM_MODEL: 'gpt-4o-mini' });
    expect(config.apiKey).toEqual({ param: `/ellipsis/${stage}/llm-api-key` });
    expect(config.LLM_BASE_URL).toBe('https://api.openai.com/v1');
    const vars = (props(FUNCTIONS.responder).Environment as { Variables: Record<string, Json> }).Variables;
    expect(vars.STATE_TABLE_NAME).toEqual({ Ref: 'StateTable' });
  });
});

describe('RESPONDER_MID_REPLY=restart (param responderMidReply=restart)', () => {
  it('is off by default: finish, and the condition tests the ResponderMidReply parameter', () => {
    expect(template.Conditions?.MidReplyRestart).toEqual({
      'Fn::Equals': [{ Ref: 'ResponderMidReply' }, 'restart'],
    });
    expect(template.Parameters?.ResponderMidReply?.Default).toBe('finish');
    expect(deployedEnv(FUNCTIONS.responder).RESPONDER_MID_REPLY).toBe('finish');
  });

  it('grants the responder, only then, reads and writes of the state table the sender reads aborts from', () => {
    const statements = responderStatementsUnder('MidReplyRestart');
    expect(statements.flatMap(actionsOf).sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(statements[0]?.Resource).toEqual(getAtt('StateTable', 'Arn'));
    const sender = (props(FUNCTIONS.sender).Environment as { Variables: Record<string, Json> }).Variables;
    const responder = (props(FUNCTIONS.responder).Environment as { Variables: Record<string, Json> })
      .Variables;
    expect(responder.STATE_TABLE_NAME).toEqual(sender.STATE_TABLE_NAME);
  });
});

describe('alarms', () => {
  const alarms = () => ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties ?? {});

  it('fire when the dead-letter queue holds any message', () => {
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: getAtt('StepsDeadLetterQueue', 'QueueName') }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
  });

  it('fire on sender errors', () => {
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: FUNCTIONS.sender } }],
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
  });

  it("all notify a topic on ALARM and OK: the stack's own, or the existing one param alarmTopicArn names", () => {
    const own = { Ref: 'AlarmTopic' };
    const existing = 'arn:aws:sns:us-east-1:123456789012:ops';
    expect(alarms().length).toBeGreaterThanOrEqual(9);
    for (const a of alarms()) {
      for (const actions of [a.AlarmActions, a.OKActions]) {
        expect(resolved(actions, {})).toEqual([own]);
        expect(resolved(actions, { AlarmTopicArn: existing })).toEqual([existing]);
      }
    }
    expect(res('AlarmTopic')).toMatchObject({ Type: 'AWS::SNS::Topic', Condition: 'OwnAlarmTopic' });
    expect(conditionHolds('OwnAlarmTopic', {})).toBe(true);
    expect(conditionHolds('OwnAlarmTopic', { AlarmTopicArn: existing })).toBe(false);
  });

  it('mail the address param alarmEmail names, subscribed to whichever topic the alarms notify', () => {
    const subscription = res('AlarmEmailSubscription');
    expect(subscription).toMatchObject({ Type: 'AWS::SNS::Subscription', Condition: 'HasAlarmEmail' });
    expect(conditionHolds('HasAlarmEmail', {})).toBe(false);
    const mode = { AlarmEmail: 'ops@example.com' };
    expect(conditionHolds('HasAlarmEmail', mode)).toBe(true);
    expect(resolved(subscription.Properties?.Endpoint, mode)).toBe('ops@example.com');
    expect(subscription.Properties?.Protocol).toBe('email');
    expect(resolved(subscription.Properties?.TopicArn, mode)).toEqual({ Ref: 'AlarmTopic' });
  });
});

describe('public webhook bounds (a flood of junk POSTs cannot starve the sender)', () => {
  // Meta, Messenger Platform rate limiting: past ~40 messages/s a Page hits the high-volume limit. Each inbound
  // message is about 2 deliveries with the subscribed fields (the message, then its message_reads).
  const META_PAGE_MESSAGES_PER_SECOND = 40;
  const DELIVERIES_PER_MESSAGE = 2;
  // A warm webhook invocation in AWS (HMAC, DynamoDB Get/Put, one SendMessageBatch), generously.
  const WARM_WEBHOOK_SECONDS = 0.05;
  const routeSettings = () =>
    props('HttpApiStage').DefaultRouteSettings as {
      ThrottlingRateLimit: number;
      ThrottlingBurstLimit: number;
    };

  it("throttles the HTTP API stage, with room for one Page at Meta's own ceiling and a burst above it", () => {
    const { ThrottlingRateLimit: rate, ThrottlingBurstLimit: burst } = routeSettings();
    expect(rate).toBeGreaterThanOrEqual(META_PAGE_MESSAGES_PER_SECOND * DELIVERIES_PER_MESSAGE);
    expect(burst).toBeGreaterThanOrEqual(rate);
  });

  /** A function's reserved concurrency in a mode; undefined when it resolves to AWS::NoValue or is absent. */
  const reservedIn = (id: string, mode: Mode): Json => {
    const value = resolved(props(id).ReservedConcurrentExecutions, mode);
    return isObject(value) && value.Ref === 'AWS::NoValue' ? undefined : value;
  };

  it('reserves no concurrency by default, so the stack deploys in an account with a small quota', () => {
    for (const id of Object.values(FUNCTIONS)) expect(reservedIn(id, {}), id).toBeUndefined();
    // The throttle alone keeps a flood to rate × warm duration instances of the webhook.
    expect(routeSettings().ThrottlingRateLimit * WARM_WEBHOOK_SECONDS).toBeLessThanOrEqual(20);
  });

  it('reserves the webhook what param webhookReservedConcurrency says, when set', () => {
    const reserved = reservedIn(FUNCTIONS.webhook, { WebhookReservedConcurrency: '20' });
    expect(reserved).toBe('20');
    // At the warm duration, the reserved instances serve more than the throttle lets through.
    expect(Number(reserved) / WARM_WEBHOOK_SECONDS).toBeGreaterThanOrEqual(
      routeSettings().ThrottlingRateLimit,
    );
  });

  it("bounds each SQS consumer by its mapping's maximum concurrency, and reserves it only when asked", () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([id]) => props(id));
    expect(mappings.length).toBe(2);
    const asked: Mode = {
      SenderReservedConcurrency: '400',
      ResponderReservedConcurrency: '300',
      WebhookReservedConcurrency: '20',
    };
    for (const mapping of mappings) {
      const [functionId] = (mapping.FunctionName as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
      const max = (mapping.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency;
      expect(max, functionId).toBeGreaterThanOrEqual(2);
      expect(reservedIn(functionId, {}), functionId).toBeUndefined();
      expect(Number(reservedIn(functionId, asked)), functionId).toBe(max);
    }
    expect(props(FUNCTIONS.send).ReservedConcurrentExecutions).toBeUndefined();
    // Reserving every maximum (docs/deploy.md) fits the 900 a default 1,000 account may reserve (100 stay unreserved).
    const reserved = ofType('AWS::Lambda::Function').reduce(
      (sum, [id]) => sum + Number(reservedIn(id, asked) ?? 0),
      0,
    );
    expect(reserved).toBe(720);
    expect(reserved).toBeLessThanOrEqual(900);
  });

  it('sizes the responder apart from the sender: turns in flight ≈ turn arrival rate × thinking time', () => {
    const maxOf = (queue: string): number => {
      const mapping = ofType('AWS::Lambda::EventSourceMapping')
        .map(([id]) => props(id))
        .find((m) => JSON.stringify(m.EventSourceArn).includes(queue));
      return (mapping?.ScalingConfig as { MaximumConcurrency: number } | undefined)?.MaximumConcurrency ?? 0;
    };
    // The sender's 1,000 conversations, a turn each every ~33 s (10 s thinking + 8 s answer + 15 s user): 30/s × 10 s.
    const turnsInFlight = (1_000 / 33) * 10;
    expect(maxOf('ResponderQueue')).toBe(Math.round(turnsInFlight / 100) * 100);
    expect(maxOf('StepsQueue')).toBe(400);
  });

  it('logs each request with its status but never its query string, path or headers', () => {
    const settings = props('HttpApiStage').AccessLogSettings as { DestinationArn: Json; Format: string };
    expect(settings.DestinationArn).toEqual(getAtt('HttpApiLogGroup', 'Arn'));
    // hub.verify_token travels in the verification GET's query string; the signature in a header.
    expect(settings.Format).not.toMatch(
      /\$context\.(path|requestOverride|identity\.userAgent)|\$input|querystring/i,
    );
    const sample = settings.Format.replace(/\$context\.status/g, '429')
      .replace(/\$context\.error\.messageString/g, '"Too Many Requests"')
      .replace(/\$context\.[\w.]+/g, 'x');
    expect(JSON.parse(sample)).toMatchObject({ status: 429 });
  });

  const alarmsOn = (namespace: string, metric: string) =>
    ofType('AWS::CloudWatch::Alarm')
      .map(([, r]) => r.Properties ?? {})
      .filter(
        (a) =>
          (a.Namespace === namespace && a.MetricName === metric) ||
          (
            (a.Metrics ?? []) as { MetricStat?: { Metric: { Namespace: string; MetricName: string } } }[]
          ).some(
            (m) => m.MetricStat?.Metric.Namespace === namespace && m.MetricStat.Metric.MetricName === metric,
          ),
      );

  it('alarm on sustained 4xx answers (forged or junk traffic), not on a single bad minute', () => {
    const [alarm, ...others] = alarmsOn('AWS/ApiGateway', '4xx');
    expect(others).toHaveLength(0);
    expect(alarm).toMatchObject({
      Dimensions: [
        { Name: 'ApiId', Value: { Ref: 'HttpApi' } },
        { Name: 'Stage', Value: '$default' },
      ],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(Number(alarm?.Period) * Number(alarm?.DatapointsToAlarm)).toBeGreaterThanOrEqual(900);
    expect(Number(alarm?.Threshold)).toBeGreaterThan(0);
  });

  it('alarm on throttled requests, at the HTTP API (access-log 429s) and at the webhook function', () => {
    const filter = props('WebhookThrottledRequestsMetric');
    expect(res('WebhookThrottledRequestsMetric').Type).toBe('AWS::Logs::MetricFilter');
    expect(filter.LogGroupName).toEqual({ Ref: 'HttpApiLogGroup' });
    expect(filter.FilterPattern).toBe('{ $.status = 429 }');
    const [transform] = filter.MetricTransformations as { MetricNamespace: string; MetricName: string }[];
    const [alarm] = alarmsOn(transform!.MetricNamespace, transform!.MetricName);
    expect(alarmsOn('AWS/Lambda', 'Throttles')).toEqual([alarm]);
    const metrics = alarm!.Metrics as {
      MetricStat?: { Metric: { Dimensions?: Json } };
      Expression?: string;
    }[];
    expect(metrics.find((m) => m.MetricStat?.Metric.Dimensions)?.MetricStat?.Metric.Dimensions).toEqual([
      { Name: 'FunctionName', Value: { Ref: FUNCTIONS.webhook } },
    ]);
    expect(metrics.filter((m) => m.Expression)).toHaveLength(1);
  });
});

describe('console test events', () => {
  it('are the send function shareable events, one per infra/events/send-*.json', () => {
    const p = props('SendTestEvents');
    expect(res('SendTestEvents').Type).toBe('AWS::EventSchemas::Schema');
    expect(p.Type).toBe('OpenApi3');
    expect(p.SchemaName).toEqual({ 'Fn::Sub': `_\${${FUNCTIONS.send}}-schema` });
    expect(p.RegistryName).toEqual(getAtt('ConsoleTestEventRegistry', 'RegistryName'));
    expect(props('ConsoleTestEventRegistry').RegistryName).toBe('lambda-testevent-schemas');
    const content = JSON.parse(String(p.Content)) as {
      openapi: string;
      components: { examples: Record<string, { value: Json }> };
    };
    expect(content.openapi).toMatch(/^3\./);
    const files = readdirSync(join(repoRoot, 'infra', 'events')).filter((f) => /^send-.+\.json$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) {
      const name = f.slice('send-'.length, -'.json'.length);
      expect(content.components.examples[name]?.value, name).toEqual(
        JSON.parse(readFileSync(join(repoRoot, 'infra', 'events', f), 'utf8')),
      );
    }
  });

  it('go into the registry a custom resource makes sure of, in every stack (created only where missing)', () => {
    expect(res('ConsoleTestEventRegistry').Type).toBe('Custom::TestEventRegistry');
    expect(res('ConsoleTestEventRegistry').Condition).toBeUndefined();
    expect(res('SendTestEvents').Condition).toBeUndefined();
    expect(template.Parameters?.ManageTestEventRegistry).toBeUndefined();
    // Stacks deployed with the old createTestEventRegistry=true hold an AWS::EventSchemas::Registry under this
    // id; CloudFormation refuses to change a resource's type, so the id must stay free.
    expect(template.Resources.TestEventRegistry).toBeUndefined();
  });
});

describe('bundles', () => {
  it('exist as one zip per function with the ESM entry point, well under the Lambda limit', () => {
    for (const name of Object.keys(FUNCTIONS)) {
      const zip = join(packageDir, `${name}.zip`);
      expect(existsSync(zip), zip).toBe(true);
      const bytes = readFileSync(zip);
      expect(bytes.length).toBeGreaterThan(1000);
      // 50 MB is Lambda's zipped limit; 5 MiB flags an accidental dependency explosion long before it.
      expect(bytes.length).toBeLessThan(5 * 1024 * 1024);
      expect(bytes.includes(`functions/${name}.mjs`), `${name}.zip holds functions/${name}.mjs`).toBe(true);
    }
  });

  it("carry only their own function's lazily loaded chunks (infra/esbuild-plugins.cjs)", () => {
    const names = Object.keys(FUNCTIONS);
    for (const name of names) {
      const bytes = readFileSync(join(packageDir, `${name}.zip`));
      expect(bytes.includes(`functions/${name}.chunks/`), `${name}.zip holds its chunks`).toBe(true);
      for (const other of names.filter((n) => n !== name))
        expect(bytes.includes(`functions/${other}.chunks/`), `${name}.zip holds ${other}'s chunks`).toBe(
          false,
        );
    }
  });
});

/**
 * `--param="queueShards=4"` (docs/scale.md): 4 steps + 4 responder FIFO queues, each with its own FIFO DLQ and
 * its own event source mapping, every function told every shard, every role granted every shard. Packaged
 * into its own folder after the default template above (one osls build at a time).
 */
describe('queueShards=4 (packaged)', () => {
  const shardsDir = join(repoRoot, '.serverless-shards-4');
  let sharded: Template;
  const sres = (id: string) => sharded.Resources[id] ?? { Type: 'missing' };
  const sprops = (id: string) => sres(id).Properties ?? {};

  const shardedTemplate = join(shardsDir, 'cloudformation-template-update-stack.json');

  beforeAll(async () => {
    // `osls package --package <dir>` still clears .serverless/, which other test files read at the same time:
    // CI packages this one before the default (.ci/run); locally it is packaged under the package lock and
    // the default package is rebuilt before the lock is released.
    if (process.env.CI === 'true') {
      if (!existsSync(shardedTemplate))
        throw new Error(`CI=true and no ${shardedTemplate}: .ci/run packages queueShards=4 before npm test`);
    } else {
      await withPackageLock(() => {
        for (const args of [['--param=queueShards=4', '--package', shardsDir], []]) {
          const result = runPackage(args);
          if (!result.ok) throw new Error(`osls package ${args.join(' ')} failed:\n${result.output}`);
        }
      });
    }
    sharded = JSON.parse(readFileSync(shardedTemplate, 'utf8')) as Template;
  }, 360_000);

  it('packages 4 + 4 FIFO queues, each redriving to its own FIFO DLQ with the attributes of shard 0', () => {
    const queues = Object.entries(sharded.Resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue');
    const sources = queues.filter(([, r]) => r.Properties?.RedrivePolicy !== undefined);
    expect(queues).toHaveLength(16);
    expect(sources.map(([id]) => id).sort()).toEqual(
      [
        'ResponderQueue',
        'StepsQueue',
        ...[1, 2, 3].flatMap((i) => [`ResponderQueueShard${i}`, `StepsQueueShard${i}`]),
      ].sort(),
    );
    for (const [id, r] of sources) {
      const p = r.Properties ?? {};
      const base = sprops(id.startsWith('Steps') ? 'StepsQueue' : 'ResponderQueue');
      const { QueueName: _a, RedrivePolicy: redrive, ...same } = p;
      const { QueueName: _b, RedrivePolicy: baseRedrive, ...baseSame } = base;
      expect(same).toEqual(baseSame);
      expect(p.FifoQueue).toBe(true);
      const dlqId = (redrive as { deadLetterTargetArn: { 'Fn::GetAtt': [string, string] } })
        .deadLetterTargetArn['Fn::GetAtt'][0];
      expect(sprops(dlqId).FifoQueue).toBe(true);
      expect((redrive as { maxReceiveCount: number }).maxReceiveCount).toBe(
        (baseRedrive as { maxReceiveCount: number }).maxReceiveCount,
      );
    }
    const dlqs = sources.map(([, r]) =>
      JSON.stringify(
        (r.Properties?.RedrivePolicy as { deadLetterTargetArn?: Json } | undefined)?.deadLetterTargetArn,
      ),
    );
    expect(new Set(dlqs).size).toBe(8);
  });

  it('maps every shard to its function with the same settings (batch size, partial responses, concurrency)', () => {
    const mappings = Object.values(sharded.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping',
    );
    const of = (fn: string) =>
      mappings.filter((m) => JSON.stringify(m.Properties?.FunctionName).includes(fn));
    for (const [fn, family, batch] of [
      ['SenderLambdaFunction', 'StepsQueue', 1],
      ['ResponderLambdaFunction', 'ResponderQueue', 10],
    ] as const) {
      const mine = of(fn);
      expect(mine).toHaveLength(4);
      expect(mine.map((m) => JSON.stringify(m.Properties?.EventSourceArn)).sort()).toEqual(
        [family, `${family}Shard1`, `${family}Shard2`, `${family}Shard3`]
          .map((id) => JSON.stringify(getAtt(id, 'Arn')))
          .sort(),
      );
      for (const m of mine) {
        expect(m.Properties?.BatchSize).toBe(batch);
        expect(m.Properties?.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      }
    }
  });

  it("gives each function every shard's URL (shard 0 first), and its role every shard", () => {
    const env = (fn: string) => (sprops(fn).Environment as { Variables: Record<string, Json> }).Variables;
    const refs = (v: Json) =>
      ((v as { 'Fn::Join': [string, { Ref: string }[]] })['Fn::Join'][1] ?? []).map((r) => r.Ref);
    const steps = ['StepsQueue', 'StepsQueueShard1', 'StepsQueueShard2', 'StepsQueueShard3'];
    for (const fn of [
      'WebhookLambdaFunction',
      'SenderLambdaFunction',
      'ResponderLambdaFunction',
      'SendLambdaFunction',
    ])
      expect(refs(env(fn).QUEUE_URLS)).toEqual(steps);
    expect(refs(env('SenderLambdaFunction').DLQ_URLS)).toEqual(
      steps.map((s) => s.replace('Queue', 'DeadLetterQueue')),
    );
    expect(refs(env('ResponderLambdaFunction').RESPONDER_QUEUE_URLS)).toEqual(
      steps.map((s) => s.replace('Steps', 'Responder')),
    );
    const granted = (role: string, sid: string) => {
      const policies = (sprops(role).Policies ?? []) as {
        PolicyDocument: { Statement: { Sid?: string; Resource: Json }[] };
      }[];
      const s = policies.flatMap((p) => p.PolicyDocument.Statement).find((x) => x.Sid === sid);
      return JSON.stringify(s?.Resource);
    };
    for (const id of steps) {
      expect(granted('SenderRole', 'ConsumeAndDeferSteps')).toContain(`"${id}"`);
      expect(granted('WebhookRole', 'EnqueueStepsAndEvents')).toContain(`"${id}"`);
      expect(granted('ResponderRole', 'EnqueueReplySteps')).toContain(`"${id}"`);
      expect(granted('SendRole', 'EnqueueSteps')).toContain(`"${id}"`);
    }
  });
});
