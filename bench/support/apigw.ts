/** API Gateway HTTP API (payload 2.0) events for the webhook handler, as Lambda receives them. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export const postEvent = (
  body: Uint8Array | string,
  headers: Record<string, string>,
): APIGatewayProxyEventV2 => {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  return {
    version: '2.0',
    routeKey: 'POST /webhook',
    rawPath: '/webhook',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: 'POST',
        path: '/webhook',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'facebookexternalua',
      },
      requestId: 'bench',
      routeKey: 'POST /webhook',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body: text,
    isBase64Encoded: false,
  };
};

/** Base64-encoded variant (API Gateway sends non-text content types this way). */
export const postEventBase64 = (
  body: Uint8Array,
  headers: Record<string, string>,
): APIGatewayProxyEventV2 => ({
  ...postEvent('', headers),
  body: Buffer.from(body).toString('base64'),
  isBase64Encoded: true,
});
