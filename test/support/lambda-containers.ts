/**
 * Lambda containers for a packaged function: each a fresh Node process (this Node, the project's 24)
 * running test/support/lambda-runtime.ts in the unzipped code, with only the environment Lambda would give
 * it (the function's variables plus the runtime's reserved ones), as user `nobody` when we are root
 * (Lambda's sandbox user is not root either). A pool hands each invocation to an idle container and
 * starts another when all are busy, as Lambda scales out: one invocation per container at a time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

export type PackagedFunction = {
  /** The function's key in serverless.yml (webhook, sender, …). */
  name: string;
  /** The unzipped code (LAMBDA_TASK_ROOT). */
  taskRoot: string;
  /** The template's `Handler`, e.g. functions/webhook.handler. */
  handler: string;
  /** The function's environment variables, intrinsics resolved. */
  variables: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
};

export type Container = {
  invoke: (event: unknown) => Promise<unknown>;
  busy: () => boolean;
  /** Everything the container wrote to stdout and stderr (its CloudWatch log stream). */
  output: () => string;
  stop: () => Promise<void>;
};

const RUNTIME = join(import.meta.dirname, 'lambda-runtime.ts');
const NOBODY = 65_534;

/** The variables the nodejs24.x runtime sets itself (Lambda Developer Guide, "Defined runtime environment variables"). */
const runtimeVariables = (fn: PackagedFunction, aws: Record<string, string>): Record<string, string> => ({
  ...fn.variables,
  ...aws,
  AWS_LAMBDA_FUNCTION_NAME: `ellipsis-dev-${fn.name}`,
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  LAMBDA_TASK_ROOT: fn.taskRoot,
  _HANDLER: fn.handler,
  TZ: ':UTC',
  LANG: 'en_US.UTF-8',
  PATH: '/usr/local/bin:/usr/bin:/bin',
});

type Reply = { type: string; id?: number; result?: unknown; error?: { name: string; message: string } };

const asNobody = () => (process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {});

/** Spawns a container and waits for its init phase (the handler module imported). */
export const startContainer = async (
  fn: PackagedFunction,
  aws: Record<string, string>,
): Promise<Container> => {
  const child: ChildProcess = spawn(process.execPath, [RUNTIME], {
    cwd: fn.taskRoot,
    env: runtimeVariables(fn, aws),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    ...asNobody(),
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (reply: Reply) => {
      if (reply.type === 'ready') return resolve();
      if (reply.type === 'init-error') return reject(new Error(`${fn.name} init: ${reply.error?.message}`));
      const waiter = pending.get(reply.id ?? -1);
      pending.delete(reply.id ?? -1);
      if (reply.type === 'result') waiter?.resolve(reply.result);
      else waiter?.reject(Object.assign(new Error(reply.error?.message), { name: reply.error?.name }));
    });
    child.on('exit', (code) => {
      const gone = new Error(`${fn.name} container exited (${code}):\n${output}`);
      reject(gone);
      for (const w of pending.values()) w.reject(gone);
    });
  });
  await ready;
  let nextId = 0;
  const invoke = (event: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, event, requestId: randomUUID(), deadline: Date.now() + fn.timeoutSeconds * 1000 });
    });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  return { invoke, busy: () => pending.size > 0, output: () => output, stop };
};

/** Containers of one function, scaled out on demand. */
export const containerPool = (fn: PackagedFunction, aws: Record<string, string>) => {
  const containers: Container[] = [];
  const invoke = async (event: unknown): Promise<unknown> => {
    let container = containers.find((c) => !c.busy());
    if (!container) {
      container = await startContainer(fn, aws);
      containers.push(container);
    }
    return container.invoke(event);
  };
  return {
    invoke,
    containers,
    output: () => containers.map((c) => c.output()).join(''),
    stop: async () => {
      await Promise.all(containers.map((c) => c.stop()));
    },
  };
};
