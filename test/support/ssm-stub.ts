/**
 * SSM's GetParameter on 127.0.0.1, at the wire: the AWS JSON 1.1 protocol (POST /, `X-Amz-Target:
 * AmazonSSM.GetParameter`, `application/x-amz-json-1.1`), answering a parameter or `ParameterNotFound` as
 * SSM does (AWS Systems Manager API Reference, GetParameter). A SecureString asked for without
 * WithDecryption comes back as ciphertext, as in SSM, so a reader that forgets to decrypt gets garbage.
 * Point a process at it with AWS_ENDPOINT_URL_SSM (the SDK's service-specific endpoint variable).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SsmRequest = {
  target: string;
  name: string;
  withDecryption: boolean;
  /** The SigV4 Authorization header's credential scope (`<key>/<date>/<region>/ssm/aws4_request`). */
  credentialScope: string;
};

export type SsmStub = {
  endpoint: string;
  requests: SsmRequest[];
  /** What a process needs for an unconfigured SDK client to reach this stub. */
  env: Record<string, string>;
  stop: () => Promise<void>;
};

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify(body));
};

/** Looks like KMS ciphertext (base64), and is never the value. */
const ciphertextOf = (value: string): string =>
  Buffer.concat([Buffer.from('AQICAHh'), createHash('sha256').update(value).digest()]).toString('base64');

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const parameterOf = (name: string, value: string, decrypt: boolean) => ({
  Parameter: {
    Name: name,
    Type: 'SecureString',
    Value: decrypt ? value : ciphertextOf(value),
    Version: 1,
    LastModifiedDate: 1_796_000_000,
    ARN: `arn:aws:ssm:us-east-1:000000000000:parameter${name}`,
    DataType: 'text',
  },
});

const answer = async (
  req: IncomingMessage,
  res: ServerResponse,
  parameters: ReadonlyMap<string, string>,
  requests: SsmRequest[],
) => {
  const target = String(req.headers['x-amz-target'] ?? '');
  const input = JSON.parse((await readBody(req)) || '{}') as { Name?: unknown; WithDecryption?: unknown };
  const scope = /Credential=([^,]+)/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
  const name = typeof input.Name === 'string' ? input.Name : '';
  requests.push({ target, name, withDecryption: input.WithDecryption === true, credentialScope: scope });
  if (req.method !== 'POST' || target !== 'AmazonSSM.GetParameter')
    return json(res, 400, { __type: 'UnknownOperationException', message: `unsupported ${target}` });
  const value = parameters.get(name);
  if (value === undefined) return json(res, 400, { __type: 'ParameterNotFound', message: '' });
  json(res, 200, parameterOf(name, value, input.WithDecryption === true));
};

/** Serves `parameters` (name → plaintext value) as SecureStrings. */
export const startSsmStub = async (parameters: Readonly<Record<string, string>>): Promise<SsmStub> => {
  const requests: SsmRequest[] = [];
  const known = new Map(Object.entries(parameters));
  const server = createServer((req, res) => {
    answer(req, res, known, requests).catch(() => json(res, 500, { __type: 'InternalServerError' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    requests,
    env: { AWS_ENDPOINT_URL_SSM: endpoint },
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
