/** Where the Graph API is and how long a call may take: the sender's (and the local stack's) Graph settings. */
import { described, ms } from '../../platform/config.ts';
import * as z from '../../platform/zod.ts';

export const graphSchema = z.object({
  GRAPH_API_URL: described(
    'The Graph API origin (a local Graph stand-in in tests and `npm start`).',
    z._default(z.url(), 'https://graph.facebook.com'),
  ),
  GRAPH_API_VERSION: described(
    'The Graph API version every call names.',
    z._default(z.string().check(z.regex(/^v\d+\.\d+$/, 'must look like v26.0')), 'v26.0'),
  ),
  GRAPH_TIMEOUT_MS: described(
    'How long one Graph call may take before its outcome is unknown (ms).',
    ms(10_000),
  ),
});
