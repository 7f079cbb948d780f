/**
 * CI's CloudFormation lint: the packaged template against the CloudFormation resource specification
 * (infra/template-check/spec-check.ts), and proof that the check catches what a typo in serverless.yml or
 * infra/*.yml produces: each planted fault must be reported, with its kind and where it is.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkReferencesInMode,
  checkTemplate,
  type Problem,
  specDatabase,
} from '../../infra/template-check/spec-check.ts';
import type { JsonObject, Mode, Template } from '../../infra/template-check/template.ts';
import { packagedTemplate } from './packaged-template.ts';

let template: Template;
beforeAll(async () => {
  template = await packagedTemplate();
  specDatabase();
}, 180_000);

const planted = (change: (t: Template) => void): Problem[] => {
  const copy = structuredClone(template);
  change(copy);
  return checkTemplate(copy);
};
const props = (t: Template, id: string): JsonObject => {
  const p = t.Resources[id]?.Properties;
  if (!p) throw new Error(`no ${id}`);
  return p;
};
/** Kind and path of each problem, in path order (the check walks resources in template order). */
const brief = (problems: Problem[]) =>
  problems.map(({ kind, path }) => ({ kind, path })).sort((a, b) => a.path.localeCompare(b.path));

describe('the packaged template', () => {
  it('holds to the CloudFormation resource specification: types, properties, required ones, references', () => {
    const problems = checkTemplate(template);
    expect(problems.map((p) => `${p.kind} ${p.path}: ${p.message}`)).toEqual([]);
    // Not an empty pass: the template is the real one, with every kind of thing the check walks.
    expect(Object.keys(template.Resources).length).toBeGreaterThan(40);
    expect(Object.keys(template.Conditions ?? {}).length).toBeGreaterThan(5);
  });
});

const MODES: [string, Mode][] = [
  ['defaults', {}],
  [
    'existing alarm topic, e-mail',
    { AlarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops', AlarmEmail: 'ops@example.com' },
  ],
  ['own topic, e-mail', { AlarmEmail: 'ops@example.com' }],
  [
    'per-account, llm, restart, tracing',
    { AccountIds: '111,222', ResponderKind: 'llm', ResponderMidReply: 'restart', EnableTracing: 'true' },
  ],
  [
    'reservations',
    {
      WebhookReservedConcurrency: '20',
      SenderReservedConcurrency: '400',
      ResponderReservedConcurrency: '300',
    },
  ],
];

describe('in every deployment mode', () => {
  it.each(MODES)('no reference names a resource the mode leaves out (%s)', (_, mode) => {
    expect(checkReferencesInMode(template, mode).map((p) => `${p.path}: ${p.message}`)).toEqual([]);
  });

  it('catches a conditional resource referenced outside a matching Fn::If', () => {
    const copy = structuredClone(template);
    props(copy, 'AlarmEmailSubscription').TopicArn = { Ref: 'AlarmTopic' };
    const mode = { AlarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops', AlarmEmail: 'ops@example.com' };
    expect(brief(checkReferencesInMode(copy, mode))).toEqual([
      { kind: 'dangling-reference', path: 'Resources.AlarmEmailSubscription.Properties.TopicArn.Ref' },
    ]);
    expect(checkReferencesInMode(copy, {})).toEqual([]);
  });
});

describe('planted faults, each caught', () => {
  it('a misspelt property (VisibilityTimout on the steps queue)', () => {
    const problems = planted((t) => {
      const q = props(t, 'StepsQueue');
      q.VisibilityTimout = q.VisibilityTimeout ?? 90;
      delete q.VisibilityTimeout;
    });
    expect(brief(problems)).toEqual([
      { kind: 'unknown-property', path: 'Resources.StepsQueue.Properties.VisibilityTimout' },
    ]);
  });

  it('a misspelt property inside a nested type (Lambda Environment.Varibles)', () => {
    const problems = planted((t) => {
      props(t, 'SenderLambdaFunction').Environment = { Varibles: { A: 'b' } };
    });
    expect(brief(problems)).toEqual([
      { kind: 'unknown-property', path: 'Resources.SenderLambdaFunction.Properties.Environment.Varibles' },
    ]);
  });

  it('a wrong type (a word for an integer, an object for a string, a value outside the allowed ones)', () => {
    const problems = planted((t) => {
      props(t, 'StepsQueue').VisibilityTimeout = 'ninety';
      props(t, 'SenderLambdaFunction').Runtime = { name: 'nodejs24.x' };
      // One of the few properties whose allowed values the spec lists.
      props(t, 'SendLambdaFunction').PackageType = 'zip';
    });
    expect(brief(problems)).toEqual([
      { kind: 'wrong-type', path: 'Resources.SenderLambdaFunction.Properties.Runtime' },
      { kind: 'wrong-type', path: 'Resources.SendLambdaFunction.Properties.PackageType' },
      { kind: 'wrong-type', path: 'Resources.StepsQueue.Properties.VisibilityTimeout' },
    ]);
  });

  it('a wrong type in one branch of an Fn::If', () => {
    const problems = planted((t) => {
      props(t, 'SenderLambdaFunction').MemorySize = { 'Fn::If': ['TracingEnabled', 256, 'lots'] };
    });
    expect(brief(problems)).toEqual([
      { kind: 'wrong-type', path: 'Resources.SenderLambdaFunction.Properties.MemorySize[Fn::If 1]' },
    ]);
  });

  it('a missing required property (the Lambda Role, a custom resource ServiceToken)', () => {
    const problems = planted((t) => {
      delete props(t, 'WebhookLambdaFunction').Role;
      delete props(t, 'StageSecrets').ServiceToken;
    });
    expect(brief(problems)).toEqual([
      { kind: 'missing-required', path: 'Resources.StageSecrets.Properties.ServiceToken' },
      { kind: 'missing-required', path: 'Resources.WebhookLambdaFunction.Properties.Role' },
    ]);
  });

  it('an unknown resource type', () => {
    const problems = planted((t) => {
      const queue = t.Resources.StepsDeadLetterQueue;
      if (queue) queue.Type = 'AWS::SQS::Queues';
    });
    expect(brief(problems)).toEqual([{ kind: 'unknown-type', path: 'Resources.StepsDeadLetterQueue.Type' }]);
  });

  it('dangling Ref, GetAtt (resource and attribute), Sub, Condition and DependsOn', () => {
    const problems = planted((t) => {
      const env = (props(t, 'SenderLambdaFunction').Environment as { Variables: JsonObject }).Variables;
      env.QUEUE_URL = { Ref: 'StepQueue' };
      env.DLQ_URL = { 'Fn::GetAtt': ['StepsDeadLetterQueue', 'Url'] };
      props(t, 'SenderRole').Description = { 'Fn::GetAtt': ['NoSuchRole', 'Arn'] };
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not JS
      props(t, 'SendTestEvents').SchemaName = { 'Fn::Sub': '_${SendFunction}-schema' };
      const alarm = t.Resources.SenderErrorsAlarm;
      if (alarm) alarm.Condition = 'NoSuchCondition';
      const fn = t.Resources.SendLambdaFunction;
      if (fn) fn.DependsOn = ['SendLogGroup', 'SendRol'];
      props(t, 'AlarmEmailSubscription').TopicArn = {
        'Fn::If': ['HasAlarmTopc', { Ref: 'AlarmTopicArn' }, { Ref: 'AlarmTopic' }],
      };
    });
    expect(brief(problems)).toEqual(
      expect.arrayContaining([
        {
          kind: 'dangling-reference',
          path: 'Resources.SenderLambdaFunction.Properties.Environment.Variables.QUEUE_URL.Ref',
        },
        {
          kind: 'dangling-reference',
          path: 'Resources.SenderLambdaFunction.Properties.Environment.Variables.DLQ_URL.Fn::GetAtt',
        },
        { kind: 'dangling-reference', path: 'Resources.SenderRole.Properties.Description.Fn::GetAtt' },
        { kind: 'dangling-reference', path: 'Resources.SendTestEvents.Properties.SchemaName.Fn::Sub' },
        { kind: 'dangling-reference', path: 'Resources.SenderErrorsAlarm.Condition' },
        { kind: 'dangling-reference', path: 'Resources.SendLambdaFunction.DependsOn' },
        { kind: 'dangling-reference', path: 'Resources.AlarmEmailSubscription.Properties.TopicArn.Fn::If' },
      ]),
    );
    expect(problems).toHaveLength(7);
  });
});
