/**
 * The packaged CloudFormation template as data, and what one deployment of it means: stack parameter
 * values (a "mode"), the conditions they make true, and values with their Fn::If / parameter Refs resolved
 * the way CloudFormation resolves them. Shared by the template and IAM checks (test/infra/) and the doctor,
 * so all three read the same template the deploy uploads (`npm run package` writes it).
 */
import { readFileSync } from 'node:fs';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type TemplateResource = {
  Type: string;
  Properties?: JsonObject;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};
export type Template = {
  Parameters?: Record<string, { Type: string; Default?: Json }>;
  Conditions?: Record<string, Json>;
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, JsonObject>;
};

/** Stack parameter values by name, overriding the template's defaults: one deployment mode. */
export type Mode = Record<string, string>;

export const readTemplate = (path: string): Template => JSON.parse(readFileSync(path, 'utf8')) as Template;

export const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A parameter's value in a mode: the override, else the template's default. */
export const parameterValue = (template: Template, mode: Mode, name: string): string => {
  const parameter = template.Parameters?.[name];
  if (!parameter) throw new Error(`template has no parameter ${name}`);
  return mode[name] ?? String(parameter.Default ?? '');
};

/** A template condition evaluated for a mode (Fn::Equals / Not / And / Or / Condition over parameters). */
export const conditionHolds = (template: Template, mode: Mode, name: string): boolean => {
  const definition = template.Conditions?.[name];
  if (definition === undefined) throw new Error(`template has no condition ${name}`);
  return truth(template, mode, definition);
};

const truth = (template: Template, mode: Mode, c: Json): boolean => {
  if (!isObject(c)) throw new Error(`unsupported condition ${JSON.stringify(c)}`);
  if (typeof c.Condition === 'string') return conditionHolds(template, mode, c.Condition);
  const args = (Object.values(c)[0] ?? []) as Json[];
  if ('Fn::Not' in c) return !truth(template, mode, args[0] ?? null);
  if ('Fn::And' in c) return args.every((a) => truth(template, mode, a));
  if ('Fn::Or' in c) return args.some((a) => truth(template, mode, a));
  if ('Fn::Equals' in c) {
    const [a, b] = args.map((v) => resolveForMode(template, mode, v));
    return JSON.stringify(a) === JSON.stringify(b);
  }
  throw new Error(`unsupported condition ${JSON.stringify(c)}`);
};

const NO_VALUE = Symbol('AWS::NoValue');
type Resolved = Json | typeof NO_VALUE;

/**
 * A value with parameter Refs and Fn::If resolved for the mode, AWS::NoValue dropped from objects and
 * arrays as CloudFormation drops it; other intrinsics (GetAtt, Sub, resource Refs) are left as they are.
 */
export const resolveForMode = (template: Template, mode: Mode, value: Json): Json => {
  const out = resolve(template, mode, value);
  return out === NO_VALUE ? null : out;
};

const resolve = (template: Template, mode: Mode, value: Json): Resolved => {
  if (Array.isArray(value))
    return value.map((v) => resolve(template, mode, v)).filter((v): v is Json => v !== NO_VALUE);
  if (!isObject(value)) return value;
  if (value.Ref === 'AWS::NoValue') return NO_VALUE;
  if (typeof value.Ref === 'string' && template.Parameters?.[value.Ref])
    return parameterValue(template, mode, value.Ref);
  const branches = value['Fn::If'];
  if (Array.isArray(branches)) {
    const [name, whenTrue, whenFalse] = branches as [string, Json, Json];
    return resolve(template, mode, conditionHolds(template, mode, name) ? whenTrue : whenFalse);
  }
  const entries = Object.entries(value)
    .map(([k, v]) => [k, resolve(template, mode, v)] as const)
    .filter((entry): entry is readonly [string, Json] => entry[1] !== NO_VALUE);
  return Object.fromEntries(entries);
};

/** The resources that exist in a mode (a resource Condition that does not hold removes it). */
export const resourcesInMode = (template: Template, mode: Mode): Record<string, TemplateResource> =>
  Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, r]) => !r.Condition || conditionHolds(template, mode, r.Condition))
      .map(([id, r]) => [
        id,
        { ...r, Properties: resolveForMode(template, mode, r.Properties ?? {}) as JsonObject },
      ]),
  );

/** A function's environment variables in a mode (values that are still intrinsics stay objects). */
export const environmentOf = (template: Template, mode: Mode, functionId: string): Record<string, Json> => {
  const fn = resourcesInMode(template, mode)[functionId];
  if (!fn) throw new Error(`template has no function ${functionId}`);
  const environment = fn.Properties?.Environment;
  const variables = isObject(environment) ? environment.Variables : undefined;
  return isObject(variables) ? variables : {};
};
