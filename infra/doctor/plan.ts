/**
 * What a deploy of the packaged template will need from the account, read from that template (so the doctor
 * checks the stage, params and names the deploy will use, `--param` overrides included): the SSM
 * parameters the functions read, each function's reserved concurrency and its SQS mapping's maximum, the
 * runtime, and the webhook's function name for the smoke test.
 */
import { readFileSync } from 'node:fs';
import { FUNCTION_IDS, stackSecretNames } from '../iam/sdk-calls.ts';
import { isObject, type Json, resourcesInMode, type Template } from '../template-check/template.ts';

export type FunctionPlan = {
  logicalId: string;
  name: string;
  /** Reserved concurrency the deploy sets; undefined: none. */
  reserved: number | undefined;
  /** The SQS event source mapping's maximum concurrency, for the consumers. */
  maxConcurrency: number | undefined;
};
export type DeployPlan = {
  stage: string;
  region: string;
  runtimes: string[];
  /** The functions' instruction set (arm64 here), which not every region offers either. */
  architecture: string;
  secretNames: string[];
  verifyTokenName: string;
  webhookFunctionName: string;
  functions: FunctionPlan[];
};

const numberOrUndefined = (v: Json | undefined): number | undefined =>
  v === undefined || v === null || isObject(v) || v === '' ? undefined : Number(v);

/** The plan of the packaged template as deployed with its parameter defaults (osls writes the params there). */
export const deployPlan = (template: Template, stage: string, region: string): DeployPlan => {
  const resources = resourcesInMode(template, {});
  const mappings = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
  const functions = Object.values(FUNCTION_IDS).map((logicalId): FunctionPlan => {
    const p = resources[logicalId]?.Properties ?? {};
    const mapping = mappings.find((m) =>
      JSON.stringify(m.Properties?.FunctionName).includes(`"${logicalId}"`),
    );
    const scaling = mapping?.Properties?.ScalingConfig;
    return {
      logicalId,
      name: String(p.FunctionName),
      reserved: numberOrUndefined(p.ReservedConcurrentExecutions),
      maxConcurrency: isObject(scaling ?? null)
        ? numberOrUndefined((scaling as { MaximumConcurrency?: Json }).MaximumConcurrency)
        : undefined,
    };
  });
  const runtimes = [
    ...new Set(
      Object.values(resources).flatMap((r) =>
        r.Type === 'AWS::Lambda::Function' ? [String(r.Properties?.Runtime)] : [],
      ),
    ),
  ];
  const webhookEnv = resources[FUNCTION_IDS.webhook]?.Properties?.Environment as
    | { Variables?: Record<string, Json> }
    | undefined;
  return {
    stage,
    region,
    runtimes,
    architecture: String(
      (resources[FUNCTION_IDS.webhook]?.Properties?.Architectures as Json[] | undefined)?.[0] ?? 'x86_64',
    ),
    secretNames: stackSecretNames(template, {}),
    verifyTokenName: String(webhookEnv?.Variables?.META_VERIFY_TOKEN_PARAM),
    webhookFunctionName: functions.find((f) => f.logicalId === FUNCTION_IDS.webhook)?.name ?? '',
    functions,
  };
};

/** Stage and region osls packaged for (.serverless/serverless-state.json). */
export const packagedStageAndRegion = (statePath: string): { stage: string; region: string } => {
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as {
    service: { provider: { stage: string; region: string } };
  };
  return { stage: state.service.provider.stage, region: state.service.provider.region };
};
