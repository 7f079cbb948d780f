/**
 * The doctor's checks: what only the AWS account can tell before a deploy (the SSM parameters exist and
 * decrypt, the concurrency quota fits the reservations, the region offers the runtime) and, after it, a
 * smoke test of the deployed webhook. Each check returns verdicts, one line each; clients are parameters,
 * so the tests run them against SDK mocks and a local HTTP server, never AWS.
 */
import { randomBytes } from 'node:crypto';
import {
  type Architecture,
  GetAccountSettingsCommand,
  GetFunctionConcurrencyCommand,
  GetPolicyCommand,
  type LambdaClient,
  ListLayersCommand,
  type Runtime,
} from '@aws-sdk/client-lambda';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { DeployPlan, FunctionPlan } from './plan.ts';

export type Verdict = { status: 'pass' | 'warn' | 'fail'; check: string; detail: string; fix?: string };

// Lambda keeps this much of the account's concurrency unreserved (Lambda Developer Guide, reserved concurrency).
export const UNRESERVED_FLOOR = 100;

const errorName = (error: unknown): string => (error instanceof Error ? error.name : 'Error');
const errorText = (error: unknown): string =>
  `${errorName(error)}: ${error instanceof Error ? error.message : String(error)}`;

/** One SecureString: it exists, decrypts with these credentials, and is a SecureString. The value is never shown. */
export const checkParameter = async (ssm: SSMClient, name: string): Promise<Verdict> => {
  const check = `ssm ${name}`;
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    if (Parameter?.Type !== 'SecureString')
      return {
        status: 'warn',
        check,
        detail: `stored as ${Parameter?.Type}, readable without KMS`,
        fix: `re-create it with --type SecureString`,
      };
    return { status: 'pass', check, detail: 'SecureString, decrypts' };
  } catch (error) {
    if (errorName(error) === 'ParameterNotFound')
      return {
        status: 'fail',
        check,
        detail: 'missing: the deploy fails on it (StageSecrets) and the functions could not start',
        fix: `read -rs S && aws ssm put-parameter --type SecureString --name ${name} --value "$S"`,
      };
    return {
      status: 'fail',
      check,
      detail: `cannot read or decrypt it (${errorText(error)})`,
      fix: 'check ssm:GetParameter and kms:Decrypt for your credentials and the key',
    };
  }
};

export const checkParameters = (ssm: SSMClient, plan: DeployPlan): Promise<Verdict[]> =>
  Promise.all(plan.secretNames.map((name) => checkParameter(ssm, name)));

/** The function's reservation today (0: none, or the function does not exist yet). */
const currentReservation = async (lambda: LambdaClient, name: string): Promise<number> => {
  try {
    return (
      (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name })))
        .ReservedConcurrentExecutions ?? 0
    );
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return 0;
    throw error;
  }
};

/** Reservations the deploy adds must leave Lambda its unreserved floor; a consumer's reservation must cover its maximum. */
export const checkConcurrency = async (lambda: LambdaClient, plan: DeployPlan): Promise<Verdict[]> => {
  const settings = await lambda.send(new GetAccountSettingsCommand({}));
  const limit = settings.AccountLimit?.ConcurrentExecutions ?? 0;
  const unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions ?? limit;
  const reserving = plan.functions.filter(
    (f): f is FunctionPlan & { reserved: number } => f.reserved !== undefined,
  );
  const current = await Promise.all(reserving.map((f) => currentReservation(lambda, f.name)));
  const added = reserving.reduce((sum, f, i) => sum + f.reserved - (current[i] ?? 0), 0);
  const left = unreserved - added;
  const total = reserving.reduce((sum, f) => sum + f.reserved, 0);
  // Only reservations the deploy adds can break Lambda's floor; reserving nothing fits any quota.
  const quota: Verdict =
    added <= 0 || left >= UNRESERVED_FLOOR
      ? {
          status: 'pass',
          check: 'concurrency',
          detail:
            total === 0
              ? `quota ${limit}, nothing reserved (every function draws on the ${unreserved} unreserved)`
              : `quota ${limit}, reserving ${total} leaves ${left} unreserved (Lambda keeps ${UNRESERVED_FLOOR})`,
        }
      : {
          status: 'fail',
          check: 'concurrency',
          detail: `quota ${limit}, ${unreserved} unreserved now: reserving ${total} would leave ${left}, below the ${UNRESERVED_FLOOR} Lambda keeps, so the deploy fails`,
          fix: 'lower or empty the *ReservedConcurrency params, or ask for a higher "Concurrent executions" quota (Service Quotas, AWS Lambda)',
        };
  return [quota, ...plan.functions.flatMap((f) => consumerVerdicts(f, limit))];
};

const consumerVerdicts = (f: FunctionPlan, limit: number): Verdict[] => {
  if (f.maxConcurrency === undefined) return [];
  const check = `concurrency ${f.name}`;
  if (f.reserved !== undefined && f.reserved < f.maxConcurrency)
    return [
      {
        status: 'warn',
        check,
        detail: `reserved ${f.reserved} < its SQS maximum ${f.maxConcurrency}: the poller is throttled above ${f.reserved}`,
        fix: 'reserve at least the maximum, or lower the maximum',
      },
    ];
  if (f.reserved === undefined && limit < f.maxConcurrency)
    return [
      {
        status: 'warn',
        check,
        detail: `its SQS maximum ${f.maxConcurrency} exceeds the account quota ${limit}: under load it shares ${limit} with everything else`,
        fix: 'ask for a higher quota, or lower the maximum',
      },
    ];
  return [];
};

/**
 * The region's Lambda API accepts the runtime and architecture: ListLayers validates CompatibleRuntime
 * against the runtimes the endpoint knows (an unknown one is a 400 ValidationException, observed against the
 * live service in floci-io/floci#2808), and a region without arm64 refuses CompatibleArchitecture
 * (InvalidParameterValueException, aws-solutions-library-samples/guidance-for-clickstream-analytics-on-aws#48).
 * A proxy, not a guarantee: the deploy stays the final word. Needs lambda:ListLayers only.
 */
export const checkRuntime = async (lambda: LambdaClient, plan: DeployPlan): Promise<Verdict[]> =>
  Promise.all(
    plan.runtimes.map(async (runtime): Promise<Verdict> => {
      const check = `runtime ${runtime}`;
      try {
        await lambda.send(
          new ListLayersCommand({
            CompatibleRuntime: runtime as Runtime,
            CompatibleArchitecture: plan.architecture as Architecture,
            MaxItems: 1,
          }),
        );
        return { status: 'pass', check, detail: `${plan.region} accepts ${runtime} on ${plan.architecture}` };
      } catch (error) {
        const refused = ['ValidationException', 'InvalidParameterValueException'].includes(errorName(error));
        return refused
          ? {
              status: 'fail',
              check,
              detail: `${plan.region} refuses ${runtime} on ${plan.architecture} (${errorText(error)})`,
              fix: 'deploy to another region (--region)',
            }
          : {
              status: 'fail',
              check,
              detail: `could not check (${errorText(error)})`,
              fix: 'grant lambda:ListLayers to your credentials, or check the region by hand',
            };
      }
    }),
  );

/** The webhook's URL from its invoke permission: osls scopes it to arn:…:execute-api:<region>:<account>:<api id>/*. */
export const webhookUrl = async (lambda: LambdaClient, plan: DeployPlan): Promise<string> => {
  const { Policy } = await lambda.send(new GetPolicyCommand({ FunctionName: plan.webhookFunctionName }));
  const match = /arn:[\w-]+:execute-api:([\w-]+):\d{12}:(\w+)\//.exec(Policy ?? '');
  if (!match)
    throw new Error(`no API Gateway permission on ${plan.webhookFunctionName}: is the stack deployed?`);
  return `https://${match[2]}.execute-api.${match[1]}.amazonaws.com/webhook`;
};

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/**
 * After a deploy: Meta's verification GET with the stored token answers the challenge (the verify token
 * loads), a wrong token is refused 403, and a POST with a wrong signature is refused 403 (the app secret
 * loads and the signature check runs). A 5xx means a function that cannot start: read its logs.
 */
export const smokeTest = async (fetchFn: Fetch, url: string, verifyToken: string): Promise<Verdict[]> => {
  const challenge = randomBytes(8).toString('hex');
  const query = (token: string) =>
    `${url}?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=${challenge}`;
  const logs = 'npx osls logs -f webhook --stage <stage>';
  const handshake = await fetchFn(query(verifyToken));
  const answer = await handshake.text();
  const wrongToken = await fetchFn(query(`not-${randomBytes(8).toString('hex')}`));
  const forged = await fetchFn(url, {
    method: 'POST',
    body: '{"object":"page","entry":[]}',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
  });
  return [
    handshake.status === 200 && answer === challenge
      ? { status: 'pass', check: 'smoke GET handshake', detail: `${url} answered the challenge` }
      : {
          status: 'fail',
          check: 'smoke GET handshake',
          detail: `${url} answered ${handshake.status}, not the challenge`,
          fix:
            handshake.status === 403
              ? 'the stored verify token differs from the deployed one: redeploy or restart the function'
              : logs,
        },
    wrongToken.status === 403
      ? { status: 'pass', check: 'smoke wrong token', detail: 'refused 403' }
      : {
          status: 'fail',
          check: 'smoke wrong token',
          detail: `answered ${wrongToken.status}, not 403`,
          fix: logs,
        },
    forged.status === 403
      ? { status: 'pass', check: 'smoke forged POST', detail: 'refused 403: the app secret loads' }
      : {
          status: 'fail',
          check: 'smoke forged POST',
          detail: `answered ${forged.status}, not 403`,
          fix: logs,
        },
  ];
};

const MARK: Record<Verdict['status'], string> = { pass: '✓', warn: '!', fail: '✗' };

/** One line per verdict: mark, check, reason, and what to do. */
export const formatVerdict = (v: Verdict): string =>
  `${MARK[v.status]} ${v.check}: ${v.detail}${v.fix ? ` → ${v.fix}` : ''}`;
