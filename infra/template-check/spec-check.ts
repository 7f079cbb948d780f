/**
 * Checks a CloudFormation template against the CloudFormation resource specification as the AWS CDK ships it
 * (@aws-cdk/aws-service-spec): every resource type exists, every property name exists and its value has the
 * spec's type, required properties are present, and every Ref / GetAtt / Sub / Condition / DependsOn names
 * something the template defines. What Python cfn-lint would catch first, without Python (not installable
 * here) and without npm cfn-lint (a 2019 spec: 102 false findings on this template).
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { Property, PropertyType, SpecDatabase } from '@aws-cdk/service-spec-types';
import {
  conditionHolds,
  isObject,
  type Json,
  type JsonObject,
  type Mode,
  resolveForMode,
  resourcesInMode,
  type Template,
} from './template.ts';

export type ProblemKind =
  | 'unknown-type'
  | 'unknown-property'
  | 'wrong-type'
  | 'missing-required'
  | 'dangling-reference';
export type Problem = { kind: ProblemKind; path: string; message: string };

type Check = { db: SpecDatabase; template: Template; problems: Problem[] };

let cachedDb: SpecDatabase | undefined;
/** The spec database (≈0.7 s to load), once per process. */
export const specDatabase = (): SpecDatabase => {
  cachedDb ??= loadAwsServiceSpecSync();
  return cachedDb;
};

const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

const specResource = (db: SpecDatabase, type: string) =>
  db.lookup('resource', 'cloudFormationType', 'equals', type)[0];

/** All problems of the template; empty when it holds to the spec. */
export const checkTemplate = (template: Template, db: SpecDatabase = specDatabase()): Problem[] => {
  const check: Check = { db, template, problems: [] };
  for (const [id, resource] of Object.entries(template.Resources)) {
    const path = `Resources.${id}`;
    checkResourceAttributes(check, path, resource.Condition, resource.DependsOn);
    checkProperties(check, path, resource.Type, resource.Properties ?? {});
    checkReferences(check, `${path}.Properties`, resource.Properties ?? {});
  }
  for (const [name, condition] of Object.entries(template.Conditions ?? {}))
    checkReferences(check, `Conditions.${name}`, condition);
  for (const [name, output] of Object.entries(template.Outputs ?? {}))
    checkReferences(check, `Outputs.${name}`, output);
  return check.problems;
};

/**
 * References in one deployment mode: with the conditions decided and Fn::If resolved, every Ref / GetAtt /
 * Sub / DependsOn must name a resource that exists in that mode. Catches a conditional resource referenced
 * outside a matching Fn::If, which CloudFormation only refuses at deploy time, and only in that mode.
 */
export const checkReferencesInMode = (
  template: Template,
  mode: Mode,
  db: SpecDatabase = specDatabase(),
): Problem[] => {
  const resources = resourcesInMode(template, mode);
  const outputs = Object.fromEntries(
    Object.entries(template.Outputs ?? {})
      .filter(([, o]) => typeof o.Condition !== 'string' || conditionHolds(template, mode, o.Condition))
      .map(([name, o]) => [name, resolveForMode(template, mode, o) as JsonObject]),
  );
  const check: Check = {
    db,
    template: { ...template, Resources: resources, Outputs: outputs },
    problems: [],
  };
  for (const [id, resource] of Object.entries(resources)) {
    checkResourceAttributes(check, `Resources.${id}`, undefined, resource.DependsOn);
    checkReferences(check, `Resources.${id}.Properties`, resource.Properties ?? {});
  }
  for (const [name, output] of Object.entries(outputs)) checkReferences(check, `Outputs.${name}`, output);
  return check.problems;
};

const report = (check: Check, kind: ProblemKind, path: string, message: string): void => {
  check.problems.push({ kind, path, message });
};

const checkResourceAttributes = (
  check: Check,
  path: string,
  condition: string | undefined,
  dependsOn: string | string[] | undefined,
): void => {
  if (condition !== undefined && !check.template.Conditions?.[condition])
    report(check, 'dangling-reference', `${path}.Condition`, `no condition ${condition}`);
  for (const target of dependsOn === undefined ? [] : [dependsOn].flat())
    if (!check.template.Resources[target])
      report(check, 'dangling-reference', `${path}.DependsOn`, `no resource ${target}`);
};

/** Custom resources take any properties besides the ServiceToken they must have. */
const checkProperties = (check: Check, path: string, type: string, properties: JsonObject): void => {
  const isCustom = type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';
  const spec = specResource(check.db, isCustom ? 'AWS::CloudFormation::CustomResource' : type);
  if (!spec) {
    report(check, 'unknown-type', `${path}.Type`, `no resource type ${type} in the CloudFormation spec`);
    return;
  }
  checkObject(check, `${path}.Properties`, spec.properties, properties, isCustom);
};

const checkObject = (
  check: Check,
  path: string,
  specProps: Record<string, Property>,
  value: JsonObject,
  extraAllowed = false,
): void => {
  for (const [name, property] of Object.entries(specProps))
    if (property.required && !(name in value))
      report(check, 'missing-required', `${path}.${name}`, `required property ${name} is missing`);
  for (const [name, v] of Object.entries(value)) {
    const property = specProps[name];
    if (!property) {
      if (!extraAllowed) report(check, 'unknown-property', `${path}.${name}`, `no property ${name} here`);
      continue;
    }
    const types = [property.type, ...(property.previousTypes ?? [])];
    checkValue(check, `${path}.${name}`, types, v);
  }
};

const INTRINSICS = /^(Ref|Fn::[A-Za-z]+|Condition)$/;
const isIntrinsic = (v: Json): v is JsonObject => {
  if (!isObject(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && INTRINSICS.test(keys[0] ?? '');
};

/** A value against the types it may have (current or previous); Fn::If checks both branches. */
const checkValue = (check: Check, path: string, types: PropertyType[], value: Json): void => {
  if (isIntrinsic(value)) {
    const branches = value['Fn::If'];
    if (Array.isArray(branches))
      branches.slice(1).forEach((b, i) => {
        if (!(isObject(b) && b.Ref === 'AWS::NoValue')) checkValue(check, `${path}[Fn::If ${i}]`, types, b);
      });
    return; // other intrinsics produce a value CloudFormation types at deploy time
  }
  // Clean in one type wins; else the problems inside the first type whose shape fits; else a type mismatch.
  const attempts = types.map((type) => {
    const nested: Check = { ...check, problems: [] };
    const fits = matchType(nested, path, type, value);
    return { fits, problems: fits ? nested.problems : [typeProblem(check, path, type, value)] };
  });
  const best =
    attempts.find((a) => a.fits && a.problems.length === 0) ?? attempts.find((a) => a.fits) ?? attempts[0];
  check.problems.push(...(best?.problems ?? []));
};

const typeProblem = (check: Check, path: string, type: PropertyType, value: Json): Problem => ({
  kind: 'wrong-type',
  path,
  message: `expected ${describe(check.db, type)}, got ${JSON.stringify(value)?.slice(0, 80)}`,
});

const describe = (db: SpecDatabase, type: PropertyType): string =>
  type.type === 'ref' ? db.get('typeDefinition', type.reference).name : type.type;

/** Whether the value has the type's shape; nested problems go to the check, a shape mismatch returns false. */
const matchType = (check: Check, path: string, type: PropertyType, value: Json): boolean => {
  switch (type.type) {
    case 'string':
    case 'date-time':
      // CloudFormation passes numbers and booleans as strings.
      if (!['string', 'number', 'boolean'].includes(typeof value)) return false;
      if (type.type === 'string' && type.allowedValues && !type.allowedValues.includes(String(value)))
        check.problems.push({
          kind: 'wrong-type',
          path,
          message: `${JSON.stringify(value)} is not one of ${type.allowedValues.join(', ')}`,
        });
      return true;
    case 'integer':
      return Number.isInteger(typeof value === 'string' ? Number(value) : value) && value !== '';
    case 'number':
      return (
        typeof value === 'number' ||
        (typeof value === 'string' && value !== '' && Number.isFinite(Number(value)))
      );
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false';
    case 'json':
      return isObject(value) || Array.isArray(value) || typeof value === 'string';
    case 'null':
      return value === null;
    case 'tag':
      return isObject(value) && 'Key' in value && 'Value' in value;
    case 'array':
      if (!Array.isArray(value)) return false;
      for (const [i, v] of value.entries()) checkValue(check, `${path}[${i}]`, [type.element], v);
      return true;
    case 'map':
      if (!isObject(value)) return false;
      for (const [k, v] of Object.entries(value)) checkValue(check, `${path}.${k}`, [type.element], v);
      return true;
    case 'union': {
      const fits = type.types.some((t) => matchType({ ...check, problems: [] }, path, t, value));
      if (fits) checkValue(check, path, type.types, value);
      return fits;
    }
    case 'ref': {
      if (!isObject(value)) return false;
      checkObject(check, path, check.db.get('typeDefinition', type.reference).properties, value);
      return true;
    }
  }
};

/** Every Ref / GetAtt / Sub / Fn::If / Condition inside a value names something the template defines. */
const checkReferences = (check: Check, path: string, value: Json): void => {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkReferences(check, `${path}[${i}]`, v);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const here = `${path}.${key}`;
    if (key === 'Ref' && typeof v === 'string') checkRef(check, here, v);
    else if (key === 'Fn::GetAtt') checkGetAtt(check, here, v);
    else if (key === 'Fn::Sub') checkSub(check, here, v);
    else if (key === 'Fn::If' && Array.isArray(v)) checkConditionName(check, here, v[0] ?? null);
    else if (key === 'Condition' && typeof v === 'string' && Object.keys(value).length === 1)
      checkConditionName(check, here, v);
    checkReferences(check, here, v);
  }
};

const checkRef = (check: Check, path: string, name: string, locals: readonly string[] = []): void => {
  const { template } = check;
  if (PSEUDO_PARAMETERS.has(name) || locals.includes(name)) return;
  if (template.Resources[name] || template.Parameters?.[name]) return;
  report(check, 'dangling-reference', path, `Ref to ${name}, which is no resource or parameter`);
};

const checkGetAtt = (check: Check, path: string, value: Json): void => {
  const [id, ...rest] = typeof value === 'string' ? value.split('.') : ((value ?? []) as string[]);
  const attribute = rest.join('.');
  const resource = id === undefined ? undefined : check.template.Resources[id];
  if (!resource) {
    report(check, 'dangling-reference', path, `GetAtt of ${id}, which is no resource`);
    return;
  }
  if (resource.Type.startsWith('Custom::') || typeof attribute !== 'string') return; // a custom resource's Data
  const spec = specResource(check.db, resource.Type);
  if (spec && !(attribute in spec.attributes))
    report(check, 'dangling-reference', path, `${resource.Type} has no attribute ${attribute}`);
};

/** ${Name} and ${Name.Attribute} in a Sub string; ${!Literal} is not a reference. */
const checkSub = (check: Check, path: string, value: Json): void => {
  const [text, variables] = Array.isArray(value) ? value : [value, {}];
  if (typeof text !== 'string') return;
  const locals = isObject(variables ?? null) ? Object.keys(variables as JsonObject) : [];
  for (const [, name] of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
    if (!name) continue;
    if (name.includes('.') && !locals.includes(name)) checkGetAtt(check, path, name);
    else checkRef(check, path, name, locals);
  }
};

const checkConditionName = (check: Check, path: string, name: Json): void => {
  if (typeof name !== 'string' || !check.template.Conditions?.[name])
    report(check, 'dangling-reference', path, `no condition ${String(name)}`);
};

/** `node infra/template-check/spec-check.ts [template.json]`: CI's lint step; exit 1 naming each problem. */
if (import.meta.main) {
  const { templatePath } = await import('../package.ts');
  const { readTemplate } = await import('./template.ts');
  const path = process.argv[2] ?? templatePath;
  const problems = checkTemplate(readTemplate(path));
  for (const p of problems) console.error(`${p.kind} ${p.path}: ${p.message}`);
  console.log(
    problems.length === 0
      ? `${path}: holds to the CloudFormation resource specification (@aws-cdk/aws-service-spec)`
      : `${path}: ${problems.length} problem(s)`,
  );
  if (problems.length > 0) process.exit(1);
}
