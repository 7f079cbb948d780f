/**
 * `npm run doctor`: its plan is read from the packaged template, and each check's verdicts come from what
 * the account answers, here SDK mocks (aws-sdk-client-mock) and a local HTTP server standing in for the
 * deployed webhook. Never AWS.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GetAccountSettingsCommand,
  GetFunctionConcurrencyCommand,
  GetPolicyCommand,
  LambdaClient,
  ListLayersCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  checkConcurrency,
  checkParameters,
  checkRuntime,
  formatVerdict,
  smokeTest,
  webhookUrl,
} from '../../infra/doctor/checks.ts';
import { runDoctor } from '../../infra/doctor/doctor.ts';
import { type DeployPlan, deployPlan } from '../../infra/doctor/plan.ts';
import type { Template } from '../../infra/template-check/template.ts';
import { packagedTemplate } from './packaged-template.ts';

const ssmMock = mockClient(SSMClient);
const lambdaMock = mockClient(LambdaClient);
afterEach(() => {
  ssmMock.reset();
  lambdaMock.reset();
});
const ssm = new SSMClient({ region: 'us-east-1' });
const lambda = new LambdaClient({ region: 'us-east-1' });
const named = (name: string, message = name) => Object.assign(new Error(message), { name });

let template: Template;
let plan: DeployPlan;
beforeAll(async () => {
  template = await packagedTemplate();
  plan = deployPlan(template, 'dev', 'us-east-1');
}, 180_000);

/** The plan of the template packaged with some params (`--param`), which land in the parameters' defaults. */
const planWith = (defaults: Record<string, string>): DeployPlan => {
  const copy = structuredClone(template);
  for (const [name, value] of Object.entries(defaults)) {
    const parameter = copy.Parameters?.[name];
    if (!parameter) throw new Error(`no parameter ${name}`);
    parameter.Default = value;
  }
  return deployPlan(copy, 'dev', 'us-east-1');
};
const RESERVING = {
  WebhookReservedConcurrency: '20',
  SenderReservedConcurrency: '400',
  ResponderReservedConcurrency: '300',
};

describe('the plan, from the packaged template', () => {
  it('names the SSM parameters, runtime, webhook and each consumer’s maximum, with no reservation by default', () => {
    expect(plan.secretNames).toEqual([
      '/ellipsis/dev/app-secret',
      '/ellipsis/dev/page-access-token',
      '/ellipsis/dev/verify-token',
    ]);
    expect(plan.runtimes).toEqual(['nodejs24.x']);
    expect(plan.architecture).toBe('arm64');
    expect(plan.verifyTokenName).toBe('/ellipsis/dev/verify-token');
    expect(plan.webhookFunctionName).toBe('ellipsis-dev-webhook');
    expect(plan.functions.map((f) => [f.name, f.reserved, f.maxConcurrency])).toEqual([
      ['ellipsis-dev-webhook', undefined, undefined],
      ['ellipsis-dev-sender', undefined, 400],
      ['ellipsis-dev-responder', undefined, 300],
      ['ellipsis-dev-send', undefined, undefined],
    ]);
  });

  it('follows the params: reservations, per-account tokens, the LLM key', () => {
    const p = planWith({ ...RESERVING, AccountIds: '111,222', ResponderKind: 'llm' });
    expect(p.functions.map((f) => f.reserved)).toEqual([20, 400, 300, undefined]);
    expect(p.secretNames).toEqual([
      '/ellipsis/dev/accounts/111',
      '/ellipsis/dev/accounts/222',
      '/ellipsis/dev/app-secret',
      '/ellipsis/dev/llm-api-key',
      '/ellipsis/dev/verify-token',
    ]);
  });
});

describe('SSM parameters', () => {
  it('pass when they decrypt, fail naming the command when missing, warn when not SecureString; never show a value', async () => {
    ssmMock
      .on(GetParameterCommand, { Name: '/ellipsis/dev/app-secret', WithDecryption: true })
      .resolves({ Parameter: { Type: 'SecureString', Value: 'app-secret-value' } })
      .on(GetParameterCommand, { Name: '/ellipsis/dev/page-access-token', WithDecryption: true })
      .resolves({ Parameter: { Type: 'String', Value: 'EAAtoken-value' } })
      .on(GetParameterCommand, { Name: '/ellipsis/dev/verify-token', WithDecryption: true })
      .rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    const verdicts = await checkParameters(ssm, plan);
    expect(verdicts.map((v) => [v.check, v.status])).toEqual([
      ['ssm /ellipsis/dev/app-secret', 'pass'],
      ['ssm /ellipsis/dev/page-access-token', 'warn'],
      ['ssm /ellipsis/dev/verify-token', 'fail'],
    ]);
    expect(verdicts[2]?.fix).toBe(
      'read -rs S && aws ssm put-parameter --type SecureString --name /ellipsis/dev/verify-token --value "$S"',
    );
    const printed = verdicts.map(formatVerdict).join('\n');
    expect(printed).not.toMatch(/app-secret-value|EAAtoken-value/);
  });

  it('fail when the key refuses to decrypt, with the reason', async () => {
    ssmMock
      .on(GetParameterCommand)
      .rejects(named('AccessDeniedException', 'not authorized to perform kms:Decrypt'));
    const verdicts = await checkParameters(ssm, plan);
    expect(verdicts.every((v) => v.status === 'fail')).toBe(true);
    expect(verdicts[0]?.detail).toContain('AccessDeniedException: not authorized to perform kms:Decrypt');
  });
});

describe('concurrency', () => {
  const account = (limit: number, unreserved: number) =>
    lambdaMock.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: limit, UnreservedConcurrentExecutions: unreserved },
    });
  const noFunctionsYet = () =>
    lambdaMock
      .on(GetFunctionConcurrencyCommand)
      .rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} }));

  it('passes the default (nothing reserved) in a 10-concurrency account, warning that the consumers share it', async () => {
    account(10, 10);
    const verdicts = await checkConcurrency(lambda, plan);
    expect(verdicts[0]?.detail).toBe(
      'quota 10, nothing reserved (every function draws on the 10 unreserved)',
    );
    expect(verdicts.map((v) => [v.check, v.status])).toEqual([
      ['concurrency', 'pass'],
      ['concurrency ellipsis-dev-sender', 'warn'],
      ['concurrency ellipsis-dev-responder', 'warn'],
    ]);
  });

  it('passes reserving 720 of a fresh 1,000 account (280 left) and fails it at 800 (80 left, below the 100 kept)', async () => {
    noFunctionsYet();
    account(1000, 1000);
    const [fits] = await checkConcurrency(lambda, planWith(RESERVING));
    expect(fits).toMatchObject({
      status: 'pass',
      detail: 'quota 1000, reserving 720 leaves 280 unreserved (Lambda keeps 100)',
    });
    account(800, 800);
    const [refused] = await checkConcurrency(lambda, planWith(RESERVING));
    expect(refused?.status).toBe('fail');
    expect(refused?.detail).toContain('would leave 80');
  });

  it("counts an existing stack's own reservations as already taken", async () => {
    account(1000, 600);
    lambdaMock
      .on(GetFunctionConcurrencyCommand)
      .rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} }))
      .on(GetFunctionConcurrencyCommand, { FunctionName: 'ellipsis-dev-sender' })
      .resolves({ ReservedConcurrentExecutions: 400 });
    const [quota] = await checkConcurrency(lambda, planWith(RESERVING));
    expect(quota).toMatchObject({
      status: 'pass',
      detail: 'quota 1000, reserving 720 leaves 280 unreserved (Lambda keeps 100)',
    });
  });

  it('warns when a consumer is reserved below its SQS maximum', async () => {
    noFunctionsYet();
    account(1000, 1000);
    const verdicts = await checkConcurrency(lambda, planWith({ SenderReservedConcurrency: '100' }));
    expect(verdicts.find((v) => v.check === 'concurrency ellipsis-dev-sender')).toMatchObject({
      status: 'warn',
    });
  });
});

describe('runtime', () => {
  it('passes where the region accepts the runtime and fails where it refuses it', async () => {
    lambdaMock
      .on(ListLayersCommand, { CompatibleRuntime: 'nodejs24.x', CompatibleArchitecture: 'arm64' })
      .resolves({ Layers: [] });
    expect((await checkRuntime(lambda, plan)).map((v) => v.status)).toEqual(['pass']);
    lambdaMock
      .on(ListLayersCommand)
      .rejects(named('ValidationException', "Value 'nodejs24.x' at 'compatibleRuntime' failed"));
    const [refused] = await checkRuntime(lambda, plan);
    expect(refused).toMatchObject({ status: 'fail', fix: 'deploy to another region (--region)' });
  });
});

describe('the whole doctor', () => {
  it('turns a check that cannot run (no credentials) into one failed line, and runs the others', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Type: 'SecureString', Value: 'v' } });
    lambdaMock
      .on(GetAccountSettingsCommand)
      .rejects(named('CredentialsProviderError', 'Could not load credentials'));
    lambdaMock.on(ListLayersCommand).resolves({ Layers: [] });
    const verdicts = await runDoctor(plan, { ssm, lambda, fetch }, { smoke: false });
    expect(verdicts.map((v) => `${v.status} ${v.check}`)).toEqual([
      'pass ssm /ellipsis/dev/app-secret',
      'pass ssm /ellipsis/dev/page-access-token',
      'pass ssm /ellipsis/dev/verify-token',
      'fail concurrency',
      'pass runtime nodejs24.x',
    ]);
    expect(formatVerdict(verdicts[3]!)).toBe(
      '✗ concurrency: could not check (CredentialsProviderError: Could not load credentials) → check your AWS credentials and region',
    );
  });
});

describe('smoke test of the deployed webhook', () => {
  const VERIFY_TOKEN = 'stored-verify-token';
  /** Answers as the deployed webhook does (lib/ingress/webhook.ts), or always `broken` when given. */
  const webhook = async (broken?: number): Promise<{ url: string; server: Server }> => {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (broken) return void res.writeHead(broken).end('Internal Server Error');
      if (req.method === 'POST')
        return void res.writeHead(403).end('X-Hub-Signature-256 does not match the body');
      const ok =
        url.searchParams.get('hub.mode') === 'subscribe' &&
        url.searchParams.get('hub.verify_token') === VERIFY_TOKEN;
      res.writeHead(ok ? 200 : 403).end(ok ? url.searchParams.get('hub.challenge') : 'verification failed');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`, server };
  };

  it('passes a webhook that answers the challenge with the stored token and refuses the rest', async () => {
    const { url, server } = await webhook();
    try {
      const verdicts = await smokeTest(fetch, url, VERIFY_TOKEN);
      expect(verdicts.map((v) => `${v.status} ${v.check}`)).toEqual([
        'pass smoke GET handshake',
        'pass smoke wrong token',
        'pass smoke forged POST',
      ]);
    } finally {
      server.close();
    }
  });

  it('fails a webhook that cannot start (5xx), and one whose verify token differs', async () => {
    const broken = await webhook(502);
    try {
      expect((await smokeTest(fetch, broken.url, VERIFY_TOKEN)).map((v) => v.status)).toEqual([
        'fail',
        'fail',
        'fail',
      ]);
    } finally {
      broken.server.close();
    }
    const healthy = await webhook();
    try {
      const [handshake] = await smokeTest(fetch, healthy.url, 'an-older-token');
      expect(handshake).toMatchObject({ status: 'fail', detail: expect.stringContaining('answered 403') });
    } finally {
      healthy.server.close();
    }
  });

  it("finds the webhook URL from the function's API Gateway permission, and reads the stored token", async () => {
    lambdaMock.on(GetPolicyCommand, { FunctionName: 'ellipsis-dev-webhook' }).resolves({
      Policy: JSON.stringify({
        Statement: [
          {
            Condition: {
              ArnLike: { 'AWS:SourceArn': 'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/*' },
            },
          },
        ],
      }),
    });
    expect(await webhookUrl(lambda, plan)).toBe(
      'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/webhook',
    );
    const { url, server } = await webhook();
    ssmMock
      .on(GetParameterCommand, { Name: '/ellipsis/dev/verify-token' })
      .resolves({ Parameter: { Type: 'SecureString', Value: VERIFY_TOKEN } });
    try {
      const verdicts = await runDoctor(plan, { ssm, lambda, fetch }, { smoke: true, url });
      expect(verdicts.map((v) => v.status)).toEqual(['pass', 'pass', 'pass']);
    } finally {
      server.close();
    }
  });
});
