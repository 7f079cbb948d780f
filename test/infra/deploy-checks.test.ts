/**
 * The deploy-checks custom resources (infra/deploy-checks/handler.cjs): the console's test event registry is
 * created only where missing and never deleted; missing SSM parameters fail the deploy by name. Then the
 * wiring in the packaged template: the function runs exactly that file, the test events wait for the
 * registry, and the parameters checked are the ones the functions read, in every mode.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackSecretNames } from '../../infra/iam/sdk-calls.ts';
import { repoRoot } from '../../infra/package.ts';
import {
  isObject,
  type Json,
  type Mode,
  resourcesInMode,
  type Template,
} from '../../infra/template-check/template.ts';
import { packagedTemplate } from './packaged-template.ts';

type Props = Record<string, unknown>;
type CfnEvent = {
  RequestType: 'Create' | 'Update' | 'Delete';
  ResourceType: string;
  ResourceProperties: Props;
  PhysicalResourceId?: string;
  LogicalResourceId: string;
  StackId: string;
  RequestId: string;
  ResponseURL: string;
};
type Deps = {
  registryExists: (name: string) => Promise<boolean>;
  createRegistry: (name: string) => Promise<void>;
  parameterExists: (name: string) => Promise<boolean>;
};
type Response = {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  PhysicalResourceId: string;
  Data?: Record<string, string>;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
};
type HandlerModule = {
  makeHandler: (makeDeps: () => Deps) => (event: CfnEvent) => Promise<void>;
  respond: (event: CfnEvent, deps: Deps) => Promise<Response>;
  secretNames: (props: Props) => string[];
  sendResponse: (url: string, body: Response) => Promise<void>;
};

const handlerPath = join(repoRoot, 'infra', 'deploy-checks', 'handler.cjs');
const checks = createRequire(import.meta.url)(handlerPath) as HandlerModule;

/** An AWS account as the deps see it: which registries and parameters exist, and every call made. */
const account = (registries: string[], parameters: string[]) => {
  const calls: string[] = [];
  const deps: Deps = {
    registryExists: async (name) => {
      calls.push(`describe ${name}`);
      return registries.includes(name);
    },
    createRegistry: async (name) => {
      calls.push(`create ${name}`);
      registries.push(name);
    },
    parameterExists: async (name) => {
      calls.push(`get ${name}`);
      return parameters.includes(name);
    },
  };
  return { deps, calls, registries };
};

const REGISTRY = 'lambda-testevent-schemas';
const event = (
  type: string,
  request: CfnEvent['RequestType'],
  props: Props,
  physicalId?: string,
): CfnEvent => ({
  RequestType: request,
  ResourceType: type,
  ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:x', ...props },
  ...(physicalId ? { PhysicalResourceId: physicalId } : {}),
  LogicalResourceId: type === 'Custom::TestEventRegistry' ? 'ConsoleTestEventRegistry' : 'StageSecrets',
  StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/ellipsis-dev/1',
  RequestId: 'request-1',
  ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x',
});
const registryEvent = (request: CfnEvent['RequestType']) =>
  event(
    'Custom::TestEventRegistry',
    request,
    { RegistryName: REGISTRY },
    request === 'Create' ? undefined : REGISTRY,
  );

describe('Custom::TestEventRegistry', () => {
  it('creates the registry on Create when the account has none (a fresh account or region)', async () => {
    const { deps, calls, registries } = account([], []);
    const response = await checks.respond(registryEvent('Create'), deps);
    expect(response).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: REGISTRY,
      Data: { RegistryName: REGISTRY },
    });
    expect(calls).toEqual([`describe ${REGISTRY}`, `create ${REGISTRY}`]);
    expect(registries).toEqual([REGISTRY]);
  });

  it('leaves an existing registry alone on Create and Update (the Lambda console or another stack made it)', async () => {
    for (const request of ['Create', 'Update'] as const) {
      const { deps, calls } = account([REGISTRY], []);
      expect((await checks.respond(registryEvent(request), deps)).Status).toBe('SUCCESS');
      expect(calls, request).toEqual([`describe ${REGISTRY}`]);
    }
  });

  it('keeps the registry on Delete (stack deleted or rolled back): no call at all', async () => {
    const { deps, calls, registries } = account([REGISTRY], []);
    const response = await checks.respond(registryEvent('Delete'), deps);
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: REGISTRY });
    expect(calls).toEqual([]);
    expect(registries).toEqual([REGISTRY]);
  });

  it('fails the resource with the reason when the lookup fails, keeping an id a rollback Delete can match', async () => {
    const { deps } = account([], []);
    deps.registryExists = async () => {
      throw Object.assign(new Error('User is not authorized to perform: schemas:DescribeRegistry'), {
        name: 'ForbiddenException',
      });
    };
    const response = await checks.respond(registryEvent('Create'), deps);
    expect(response).toMatchObject({
      Status: 'FAILED',
      PhysicalResourceId: 'ConsoleTestEventRegistry-failed',
    });
    expect(response.Reason).toContain('schemas:DescribeRegistry');
  });
});

const secretsEvent = (props: Props, request: CfnEvent['RequestType'] = 'Create', physicalId?: string) =>
  event('Custom::StageSecrets', request, { Prefix: '/ellipsis/prod', ...props }, physicalId);

describe('Custom::StageSecrets', () => {
  it('succeeds when every named parameter exists, reading each once', async () => {
    const names = [
      '/ellipsis/prod/app-secret',
      '/ellipsis/prod/verify-token',
      '/ellipsis/prod/page-access-token',
    ];
    const { deps, calls } = account([], names);
    const response = await checks.respond(
      secretsEvent({ Names: ['app-secret', 'verify-token', 'page-access-token'], AccountIds: '' }),
      deps,
    );
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: '/ellipsis/prod-secrets' });
    expect(calls.sort()).toEqual(names.map((n) => `get ${n}`).sort());
  });

  it('fails the deploy naming only the missing parameters, per account id too', async () => {
    const { deps } = account([], ['/ellipsis/prod/app-secret', '/ellipsis/prod/accounts/111']);
    const response = await checks.respond(
      secretsEvent({ Names: ['app-secret', 'verify-token'], AccountIds: '111, 222' }),
      deps,
    );
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(
      /missing SSM parameter\(s\) \/ellipsis\/prod\/verify-token, \/ellipsis\/prod\/accounts\/222:/,
    );
    expect(response.Reason).not.toContain('app-secret');
    expect(response.Reason).not.toContain('/111');
  });

  it('keeps the previous physical id when an Update fails (a new id would make CloudFormation replace it)', async () => {
    const { deps } = account([], []);
    const response = await checks.respond(
      secretsEvent({ Names: ['app-secret'] }, 'Update', '/ellipsis/prod-secrets'),
      deps,
    );
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: '/ellipsis/prod-secrets' });
  });

  it('succeeds on Delete without looking anything up (a rollback must never be blocked)', async () => {
    const { deps, calls } = account([], []);
    const response = await checks.respond(secretsEvent({ Names: ['app-secret'] }, 'Delete', 'x'), deps);
    expect(response.Status).toBe('SUCCESS');
    expect(calls).toEqual([]);
  });

  it('refuses a custom resource type it does not know', async () => {
    const { deps } = account([], []);
    const response = await checks.respond(event('Custom::Other', 'Create', {}), deps);
    expect(response).toMatchObject({
      Status: 'FAILED',
      Reason: 'unknown custom resource type Custom::Other',
    });
  });
});

describe('the response to CloudFormation', () => {
  const withServer = async (
    status: number,
    run: (url: string, received: Promise<[IncomingMessage, string]>) => Promise<void>,
  ) => {
    let resolveReceived: (v: [IncomingMessage, string]) => void = () => {};
    const received = new Promise<[IncomingMessage, string]>((r) => {
      resolveReceived = r;
    });
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      req.on('end', () => {
        res.writeHead(status).end();
        resolveReceived([req, body]);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      await run(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/presigned?X-Amz-Signature=abc`,
        received,
      );
    } finally {
      server.close();
    }
  };

  it('is one PUT of the JSON body to the pre-signed URL, with an empty content type', async () => {
    const { deps } = account([REGISTRY], []);
    const body = await checks.respond(registryEvent('Create'), deps);
    await withServer(200, async (url, received) => {
      await checks.sendResponse(url, body);
      const [req, text] = await received;
      expect(req.method).toBe('PUT');
      expect(req.url).toBe('/presigned?X-Amz-Signature=abc');
      expect(req.headers['content-type'] ?? '').toBe('');
      expect(JSON.parse(text)).toEqual(body);
    });
  });

  it('is sent by the handler for a failure too, so CloudFormation never waits for it', async () => {
    const { deps } = account([], []);
    const handler = checks.makeHandler(() => deps);
    await withServer(200, async (url, received) => {
      await handler({ ...secretsEvent({ Names: ['app-secret'] }), ResponseURL: url });
      const [, text] = await received;
      expect(JSON.parse(text)).toMatchObject({
        Status: 'FAILED',
        LogicalResourceId: 'StageSecrets',
        RequestId: 'request-1',
        Reason: expect.stringContaining('/ellipsis/prod/app-secret'),
      });
    });
  });

  it('throws when the URL refuses it (the log then shows why the stack waits)', async () => {
    const { deps } = account([REGISTRY], []);
    const body = await checks.respond(registryEvent('Create'), deps);
    await withServer(403, async (url) => {
      await expect(checks.sendResponse(url, body)).rejects.toThrow('answered 403');
    });
  });
});

describe('wiring in the packaged template', () => {
  let template: Template;
  beforeAll(async () => {
    template = await packagedTemplate();
  }, 180_000);
  const props = (id: string, mode: Mode = {}) => resourcesInMode(template, mode)[id]?.Properties ?? {};

  it('runs infra/deploy-checks/handler.cjs itself, inline, on the Node 24 runtime', () => {
    const fn = props('DeployChecksFunction');
    expect(fn.Code).toEqual({ ZipFile: readFileSync(handlerPath, 'utf8') });
    expect(fn).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs24.x' });
    for (const id of ['ConsoleTestEventRegistry', 'StageSecrets']) {
      expect(props(id).ServiceToken, id).toEqual({ 'Fn::GetAtt': ['DeployChecksFunction', 'Arn'] });
      expect(Number(props(id).ServiceTimeout), id).toBeLessThanOrEqual(600);
    }
  });

  it('saves the test events into the registry the custom resource vouches for, with no registry resource of its own', () => {
    expect(template.Resources.ConsoleTestEventRegistry?.Type).toBe('Custom::TestEventRegistry');
    expect(props('ConsoleTestEventRegistry').RegistryName).toBe(REGISTRY);
    expect(props('SendTestEvents').RegistryName).toEqual({
      'Fn::GetAtt': ['ConsoleTestEventRegistry', 'RegistryName'],
    });
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::EventSchemas::Registry')).toEqual(
      [],
    );
  });

  it.each([
    ['one token', {}],
    ['per account', { AccountIds: '111,222' }],
    ['llm responder', { ResponderKind: 'llm' }],
  ] as [string, Mode][])('checks exactly the SSM parameters the functions read (%s)', (_, mode) => {
    const secretProps = props('StageSecrets', mode);
    expect(isObject(secretProps as Json)).toBe(true);
    const checked = checks.secretNames(secretProps).sort();
    expect(checked.length).toBeGreaterThanOrEqual(3);
    expect(checked).toEqual(stackSecretNames(template, mode));
  });
});
