/**
 * `npm run doctor -- --stage prod [--region eu-west-1] [--param="senderReservedConcurrency=400"]…`: before a
 * deploy, what only the AWS account can tell, with your credentials: the stage's SSM parameters exist and
 * decrypt, the concurrency quota fits the reservations, the region offers the runtime.
 * `npm run doctor -- --stage prod --smoke [--url https://…/webhook]`: after it, the deployed webhook answers
 * Meta's handshake with the stored verify token and refuses a forged POST. One line per check (✓ / ! / ✗,
 * why, what to do); exit 1 on any ✗. It packages first (offline) so it checks what the deploy will upload.
 */

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { packageDir, runPackage, templatePath } from '../package.ts';
import { readTemplate } from '../template-check/template.ts';
import {
  checkConcurrency,
  checkParameters,
  checkRuntime,
  formatVerdict,
  smokeTest,
  type Verdict,
  webhookUrl,
} from './checks.ts';
import { type DeployPlan, deployPlan, packagedStageAndRegion } from './plan.ts';

export type DoctorDeps = {
  ssm: SSMClient;
  lambda: LambdaClient;
  fetch: (url: string, init?: RequestInit) => Promise<Response>;
};
export type DoctorOptions = { smoke: boolean; url?: string | undefined };

/** A check that throws (no credentials, access denied) is one ✗ line, not a crash. */
const guarded = async (check: string, run: () => Promise<Verdict[]>): Promise<Verdict[]> => {
  try {
    return await run();
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return [
      {
        status: 'fail',
        check,
        detail: `could not check (${reason})`,
        fix: 'check your AWS credentials and region',
      },
    ];
  }
};

const smoke = async (plan: DeployPlan, deps: DoctorDeps, url: string | undefined): Promise<Verdict[]> => {
  const { Parameter } = await deps.ssm.send(
    new GetParameterCommand({ Name: plan.verifyTokenName, WithDecryption: true }),
  );
  const target = url ?? (await webhookUrl(deps.lambda, plan));
  return smokeTest(deps.fetch, target, Parameter?.Value ?? '');
};

export const runDoctor = async (
  plan: DeployPlan,
  deps: DoctorDeps,
  options: DoctorOptions,
): Promise<Verdict[]> => {
  if (options.smoke) return guarded('smoke', () => smoke(plan, deps, options.url));
  const groups = await Promise.all([
    guarded('ssm', () => checkParameters(deps.ssm, plan)),
    guarded('concurrency', () => checkConcurrency(deps.lambda, plan)),
    guarded('runtime', () => checkRuntime(deps.lambda, plan)),
  ]);
  return groups.flat();
};

const cliOptions = () =>
  parseArgs({
    options: {
      stage: { type: 'string', default: 'dev' },
      region: { type: 'string' },
      param: { type: 'string', multiple: true, default: [] },
      smoke: { type: 'boolean', default: false },
      url: { type: 'string' },
    },
  }).values;

if (import.meta.main) {
  const args = cliOptions();
  const packageArgs = [
    '--stage',
    args.stage,
    ...(args.region ? ['--region', args.region] : []),
    ...args.param.map((p) => `--param=${p}`),
  ];
  console.log(`packaging ${args.stage} offline (what the deploy uploads)…`);
  const packaged = runPackage(packageArgs);
  if (!packaged.ok) {
    console.error(packaged.output.trim());
    console.error('✗ package: osls package failed (above); nothing else checked');
    process.exit(1);
  }
  const { stage, region } = packagedStageAndRegion(join(packageDir, 'serverless-state.json'));
  const plan = deployPlan(readTemplate(templatePath), stage, region);
  const deps: DoctorDeps = { ssm: new SSMClient({ region }), lambda: new LambdaClient({ region }), fetch };
  const verdicts = await runDoctor(plan, deps, { smoke: args.smoke, url: args.url });
  for (const v of verdicts) console.log(formatVerdict(v));
  const failed = verdicts.filter((v) => v.status === 'fail').length;
  console.log(
    failed === 0
      ? `doctor: ${stage} in ${region} is ready`
      : `doctor: ${failed} check(s) failed for ${stage} in ${region}`,
  );
  process.exit(failed === 0 ? 0 : 1);
}
