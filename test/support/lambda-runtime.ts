/**
 * One Lambda container, as the nodejs24.x runtime runs a function (AWS Lambda Developer Guide, "Define
 * Lambda function handler in Node.js" and "Lambda runtime environment"): run in its own process with cwd =
 * LAMBDA_TASK_ROOT (the unzipped code), the module of `_HANDLER` found as .js, .mjs or .cjs and imported
 * once (the init phase), then one invocation at a time with a context whose remaining time counts down.
 * Driven over IPC by test/support/lambda-containers.ts; imports nothing from the repository, so the
 * function sees only its own zip.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** One invocation: its event, request id and deadline (epoch ms: the function's timeout from its start). */
type Invoke = { id: number; event: unknown; requestId: string; deadline: number };
type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const send = (message: unknown) => process.send?.(message);

const errorOf = (error: unknown) => ({
  name: error instanceof Error ? error.name : 'Error',
  message: error instanceof Error ? error.message : String(error),
});

/** `functions/webhook.handler` → the export `handler` of LAMBDA_TASK_ROOT/functions/webhook.{js,mjs,cjs}. */
const loadHandler = async (taskRoot: string, spec: string): Promise<Handler> => {
  const dot = spec.lastIndexOf('.');
  const base = join(taskRoot, spec.slice(0, dot));
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f));
  if (!file) throw new Error(`Runtime.ImportModuleError: cannot find module ${spec.slice(0, dot)}`);
  const handler = ((await import(pathToFileURL(file).href)) as Record<string, unknown>)[spec.slice(dot + 1)];
  if (typeof handler !== 'function') throw new Error(`Runtime.HandlerNotFound: ${spec} is not a function`);
  return handler as Handler;
};

const contextFor = ({ requestId, deadline }: Invoke, env: NodeJS.ProcessEnv) => {
  const name = env.AWS_LAMBDA_FUNCTION_NAME ?? '';
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${env.AWS_REGION}:000000000000:function:${name}`,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
};

const main = async () => {
  const env = process.env;
  let handler: Handler;
  try {
    handler = await loadHandler(env.LAMBDA_TASK_ROOT ?? process.cwd(), env._HANDLER ?? '');
  } catch (error) {
    send({ type: 'init-error', error: errorOf(error) });
    return;
  }
  send({ type: 'ready' });
  process.on('message', async (invoke: Invoke) => {
    const { id, event } = invoke;
    try {
      send({ type: 'result', id, result: (await handler(event, contextFor(invoke, env))) ?? null });
    } catch (error) {
      send({ type: 'error', id, error: errorOf(error) });
    }
  });
};

await main();
