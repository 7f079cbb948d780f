/**
 * `npm start`: the whole pipeline on this machine — local SQS (fauxqs), the state table on a local DynamoDB
 * (dynalite), the webhook behind a local API Gateway, the SQS pollers, responder and sender — talking to the
 * local Graph fake, or to the real Graph API when META_PAGE_ACCESS_TOKEN is set. Prints the URLs and the
 * conversation; Ctrl-C stops everything cleanly.
 *
 * With the local Graph fake it serves one Messenger Page, one Instagram account and one WhatsApp number
 * (local/defaults.ts), each with its own token, plus the accounts ELLIPSIS_ACCOUNTS (a JSON file) or
 * ELLIPSIS_ACCOUNTS_JSON declares (local/accounts.ts); with the real Graph API, the one Page of the token.
 *
 * Environment: ELLIPSIS_PORT (3000), ELLIPSIS_SQS_PORT (9324), ELLIPSIS_GRAPH_PORT (3001),
 * ELLIPSIS_DYNAMO_PORT (8000), ELLIPSIS_ACCOUNTS / ELLIPSIS_ACCOUNTS_JSON, ELLIPSIS_LOG
 * (warn | info | debug), every function variable (PLAN_TIME_SCALE, GRAPH_API_VERSION, …), and for the real
 * Graph API: META_PAGE_ACCESS_TOKEN, META_APP_SECRET, META_VERIFY_TOKEN (GRAPH_API_URL optional).
 * RESPONDER=llm answers with the local OpenAI fake (LLM_BASE_URL=fake, the default) or the model at
 * LLM_BASE_URL (a local Ollama: LLM_BASE_URL=http://127.0.0.1:11434/v1 LLM_MODEL=llama3.2), see local/llm.ts.
 */

import { redactor, redactValue } from '../lib/platform/redaction.ts';
import type { LogLevel, Telemetry } from '../lib/platform/telemetry.ts';
import { localAccounts } from './accounts.ts';
import {
  DEFAULT_PORTS,
  LOCAL_PAGE_ID,
  LOCAL_SECRETS,
  LOCAL_WHATSAPP_RECEIVED,
  portFrom,
} from './defaults.ts';
import type { FakeAccount } from './graph-fake-channels.ts';
import { type LocalLlm, startLocalLlm } from './llm.ts';
import { type Stack, startStack } from './stack.ts';
import { visibleControls } from './transcript.ts';

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Function logs as one short line each (secrets redacted); metrics are dropped locally. */
const terminalTelemetry = (service: string, minLevel: LogLevel, secrets: readonly string[]): Telemetry => {
  const redact = redactor(secrets);
  const emit =
    (level: LogLevel) =>
    (message: string, attributes: Record<string, unknown> = {}) => {
      if (LEVELS.indexOf(level) < LEVELS.indexOf(minLevel)) return;
      const attrs =
        Object.keys(attributes).length > 0 ? ` ${JSON.stringify(redactValue(attributes, redact))}` : '';
      // Logs may quote upstream text (an LLM endpoint's error): nothing in it may act on the terminal.
      console.log(visibleControls(`        (${service} ${level}) ${redact(message)}${attrs}`));
    };
  return {
    log: { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') },
    metric: () => {},
    flush: () => {},
  };
};

/** ELLIPSIS_LOG: unset → warn; anything but a level is refused by name rather than silently ignored. */
const logLevel = (raw: string | undefined): LogLevel => {
  if (raw === undefined || raw === '') return 'warn';
  const level = LEVELS.find((l) => l === raw);
  if (level === undefined) throw new Error(`ELLIPSIS_LOG must be one of ${LEVELS.join(', ')}`);
  return level;
};

/** What `npm start` reads from its environment; real Graph mode needs all three Meta secrets. */
const startSettings = (env: NodeJS.ProcessEnv) => {
  const realGraph = Boolean(env.META_PAGE_ACCESS_TOKEN);
  if (realGraph) {
    const missing = ['META_APP_SECRET', 'META_VERIFY_TOKEN'].filter((n) => !env[n]);
    if (missing.length > 0) throw new Error(`real Graph mode needs ${missing.join(' and ')} as well`);
  }
  const level = logLevel(env.ELLIPSIS_LOG);
  const accounts = accountsOf(env, realGraph);
  const secrets = [
    ...(accounts ?? []).map((a) => a.accessToken),
    env.META_APP_SECRET,
    env.META_VERIFY_TOKEN,
    env.META_PAGE_ACCESS_TOKEN,
    env.LLM_API_KEY,
  ].filter((s): s is string => typeof s === 'string' && s.length > 0);
  const ports = {
    http: portFrom(env, 'ELLIPSIS_PORT', DEFAULT_PORTS.http),
    sqs: portFrom(env, 'ELLIPSIS_SQS_PORT', DEFAULT_PORTS.sqs),
    graph: portFrom(env, 'ELLIPSIS_GRAPH_PORT', DEFAULT_PORTS.graph),
    dynamo: portFrom(env, 'ELLIPSIS_DYNAMO_PORT', DEFAULT_PORTS.dynamo),
  };
  return { realGraph, level, secrets, ports, accounts };
};

/**
 * Local Graph fake: the default accounts and the declared ones. Real Graph: none, the one Page of
 * META_PAGE_ACCESS_TOKEN (declared accounts there would need real tokens, which this variable never holds).
 */
const accountsOf = (env: NodeJS.ProcessEnv, realGraph: boolean): FakeAccount[] | undefined => {
  if (!realGraph) return localAccounts(env);
  const declared = ['ELLIPSIS_ACCOUNTS', 'ELLIPSIS_ACCOUNTS_JSON'].find((n) => env[n]);
  if (declared)
    throw new Error(
      `${declared} is for the local Graph fake; real Graph mode serves the Page of META_PAGE_ACCESS_TOKEN`,
    );
  return undefined;
};

const accountLines = (stack: Stack): string =>
  stack.accounts.map((a) => `  ${a.channel.padEnd(11)} ${a.id}`).join('\n');

const responderLine = (env: NodeJS.ProcessEnv, llm: LocalLlm | undefined): string => {
  if (env.RESPONDER_MODULE) return `module ${env.RESPONDER_MODULE}`;
  return llm ? `llm: ${llm.describe}` : (env.RESPONDER ?? 'rules');
};

const banner = (stack: Stack, env: NodeJS.ProcessEnv, realGraph: boolean, llm?: LocalLlm): string => {
  const verify = realGraph ? '(META_VERIFY_TOKEN)' : LOCAL_SECRETS.META_VERIFY_TOKEN;
  return `
Ellipsis local stack is up
  Chat view   ${stack.url}/
  Webhook     ${stack.webhookUrl}   verify token: ${verify}
  Local SQS   ${stack.sqs.endpoint}   queue ${stack.sqs.queueUrl}
  State table ${stack.dynamo ? `${stack.dynamo.tableName} on local DynamoDB (dynalite) at ${stack.dynamo.endpoint}` : 'per-process memory'}
  Graph       ${stack.graph ? `local fake at ${stack.graph.url} (every call is printed below)` : `${env.GRAPH_API_URL ?? 'https://graph.facebook.com'} (real)`}
  Responder   ${responderLine(env, llm)}
  Accounts (npm run chat -- --channel <channel>, or the chat view's selector)
${accountLines(stack)}
  Time scale  PLAN_TIME_SCALE=${env.PLAN_TIME_SCALE ?? '1'}

Try:  npm run chat -- "hello"      (or open the chat view)      Ctrl-C to stop
`;
};

/** Ctrl-C (or SIGTERM) stops the stack after the steps in flight; a second one exits at once. */
const stopOnSignals = (stack: Stack): void => {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      console.log('forced exit');
      process.exit(1);
    }
    stopping = true;
    console.log(`\n${signal}: stopping (waiting for steps in flight)…`);
    await stack.stop();
    console.log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
};

const main = async () => {
  const env = process.env;
  // RESPONDER=llm: the local OpenAI fake (LLM_BASE_URL=fake or unset) or the model LLM_BASE_URL names.
  const llm = env.RESPONDER === 'llm' && !env.RESPONDER_MODULE ? await startLocalLlm(env) : undefined;
  Object.assign(env, llm?.env);
  const { realGraph, level, secrets, ports, accounts } = startSettings(env);
  const stack = await startStack({
    env,
    ports,
    graph: realGraph ? 'real' : 'local',
    pageId: env.ELLIPSIS_PAGE_ID || LOCAL_PAGE_ID,
    ...(accounts && { accounts, whatsappReceived: LOCAL_WHATSAPP_RECEIVED }),
    // As in Lambda, the functions' SDK finds SQS and DynamoDB through the environment.
    sqsFromProcessEnv: true,
    onSqsReady: (sqs) => Object.assign(process.env, sqs.env),
    dynamoFromProcessEnv: true,
    onDynamoReady: (dynamo) => Object.assign(process.env, dynamo.env),
    webhookOverrides: { telemetry: terminalTelemetry('webhook', level, secrets) },
    senderOverrides: { telemetry: terminalTelemetry('sender', level, secrets) },
    responderOverrides: { telemetry: terminalTelemetry('responder', level, secrets) },
    print: (line) => console.log(line),
    onError: (where, error) =>
      console.error(`        (${where}) ${error instanceof Error ? error.message : String(error)}`),
  });
  console.log(banner(stack, env, realGraph, llm));
  stopOnSignals({
    ...stack,
    stop: async () => {
      await stack.stop();
      await llm?.stop();
    },
  });
};

main().catch((error: unknown) => {
  console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
