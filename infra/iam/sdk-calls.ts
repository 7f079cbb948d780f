/**
 * Which AWS calls each function makes, read from the code that ships in its bundle, and what its role must
 * allow for them: the permission side of the template, checked in CI by simulating every call against the
 * packaged role (test/infra/iam-simulate.test.ts, @cloud-copilot/iam-simulate). The code is read, not
 * listed by hand: a new `new XxxCommand(` in any file a bundle includes shows up here.
 */
import {
  environmentOf,
  type Json,
  type Mode,
  parameterValue,
  type Template,
} from '../template-check/template.ts';

/** `service:Operation` as IAM names it. */
export type SdkCall = string;

// SQS authorises each batch call as its single-message action (SQS Developer Guide, batch actions).
const BATCH_AS_SINGLE: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

// The IAM service prefix of each @aws-sdk/client-* package the code uses.
const IAM_PREFIX: Record<string, string> = {
  sqs: 'sqs',
  dynamodb: 'dynamodb',
  ssm: 'ssm',
  schemas: 'schemas',
};

const iamCall = (client: string, command: string): SdkCall => {
  const prefix = IAM_PREFIX[client];
  if (!prefix) throw new Error(`no IAM prefix known for @aws-sdk/client-${client}: add it to IAM_PREFIX`);
  const operation = command.replace(/Command$/, '');
  return `${prefix}:${BATCH_AS_SINGLE[operation] ?? operation}`;
};

/** The calls one source file makes: `new XCommand(` of an imported or required client, powertools' getParameter. */
export const sdkCallsInSource = (text: string): SdkCall[] => {
  const calls = new Set<SdkCall>();
  for (const [, names, client] of text.matchAll(
    /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g,
  )) {
    for (const name of (names ?? '').split(',').map((n) => n.trim().replace(/^type\s+/, ''))) {
      if (/Command$/.test(name) && new RegExp(`new ${name}\\(`).test(text))
        calls.add(iamCall(client ?? '', name));
    }
  }
  for (const [, alias, client] of text.matchAll(/(\w+)\s*=\s*require\('@aws-sdk\/client-([a-z0-9-]+)'\)/g)) {
    for (const [, command] of text.matchAll(new RegExp(`new ${alias}\\.(\\w+Command)\\(`, 'g')))
      calls.add(iamCall(client ?? '', command ?? ''));
  }
  // Powertools' SSM getParameter is one GetParameter call (decrypting through KMS with decrypt: true).
  if (
    /import\s*\{[^}]*\bgetParameter\b[^}]*\}\s*from\s*'@aws-lambda-powertools\/parameters\/ssm'/.test(text)
  ) {
    calls.add('ssm:GetParameter');
    if (/decrypt:\s*true/.test(text)) calls.add('kms:Decrypt');
  }
  return [...calls].sort();
};

export const FUNCTION_IDS = {
  webhook: 'WebhookLambdaFunction',
  sender: 'SenderLambdaFunction',
  responder: 'ResponderLambdaFunction',
  send: 'SendLambdaFunction',
} as const;
export type FunctionName = keyof typeof FUNCTION_IDS;

/**
 * SSM parameter names a function reads at start-up in a mode: its *_PARAM variables (the LLM key only with
 * RESPONDER=llm, lib/reply/llm/config.ts) and, with account ids, *_PARAM_PREFIX + each id.
 */
export const secretNamesRead = (template: Template, mode: Mode, functionId: string): string[] => {
  const ids = parameterValue(template, mode, 'AccountIds')
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  const llm = parameterValue(template, mode, 'ResponderKind') === 'llm';
  const names = Object.entries(environmentOf(template, mode, functionId)).flatMap(
    ([name, value]: [string, Json]) => {
      if (typeof value !== 'string' || value === '') return [];
      if (name.endsWith('_PARAM_PREFIX')) return ids.map((id) => `${value}${id}`);
      if (name === 'LLM_API_KEY_PARAM' && !llm) return [];
      return name.endsWith('_PARAM') ? [value] : [];
    },
  );
  return [...new Set(names)].sort();
};

/** Every SSM parameter the stack's functions read in a mode: what the deploy checks and the doctor look for. */
export const stackSecretNames = (template: Template, mode: Mode): string[] =>
  [...new Set(Object.values(FUNCTION_IDS).flatMap((id) => secretNamesRead(template, mode, id)))].sort();
