/**
 * Graph's rate-limit usage headers (Graph API "Rate Limits"): X-App-Usage, X-Page-Usage,
 * X-Ad-Account-Usage and X-Business-Use-Case-Usage, reduced to the highest percentage and the longest
 * estimated_time_to_regain_access.
 */
import { asRecord } from '../../platform/records.ts';

export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** Rate-limit usage read from Graph's X-App-Usage / X-Page-Usage / X-Business-Use-Case-Usage headers. */
export type GraphUsage = {
  /** Highest percentage (call_count, total_cputime, total_time) across every header and use case. */
  maxPercent: number;
  /** Longest estimated_time_to_regain_access (Graph gives minutes), in ms; 0 when not throttled. */
  regainAccessMs: number;
};

/** A usage reading and when it was taken, kept by the client so the next invocation can see it. */
export type UsageReading = GraphUsage & { readAt: number };

/** The first value of a header (https-post.ts reads them as arrays: headersDistinct keeps repeats apart). */
export const headerText = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

const parseJsonHeader = (value: string | string[] | undefined): unknown => {
  const text = headerText(value);
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** Collects the usage objects ({call_count, total_cputime, total_time, estimated_time_to_regain_access}). */
const usageObjects = (headers: ResponseHeaders): Record<string, unknown>[] => {
  const out: Record<string, unknown>[] = [];
  for (const name of ['x-app-usage', 'x-page-usage', 'x-ad-account-usage']) {
    const usage = asRecord(parseJsonHeader(headers[name]));
    if (usage) out.push(usage);
  }
  // X-Business-Use-Case-Usage: {"<business id>": [{type, call_count, …}, …], …}
  const buc = asRecord(parseJsonHeader(headers['x-business-use-case-usage']));
  for (const entries of Object.values(buc ?? {})) {
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      const usage = asRecord(entry);
      if (usage) out.push(usage);
    }
  }
  return out;
};

/** Reads Graph's usage headers; undefined when none is present or parsable. */
export const parseUsage = (headers: ResponseHeaders): GraphUsage | undefined => {
  const objects = usageObjects(headers);
  if (objects.length === 0) return undefined;
  let maxPercent = 0;
  let regainMinutes = 0;
  for (const usage of objects) {
    for (const key of ['call_count', 'total_cputime', 'total_time', 'acc_id_util_pct']) {
      const value = Number(usage[key]);
      if (Number.isFinite(value)) maxPercent = Math.max(maxPercent, value);
    }
    const regain = Number(usage.estimated_time_to_regain_access);
    if (Number.isFinite(regain)) regainMinutes = Math.max(regainMinutes, regain);
  }
  return { maxPercent, regainAccessMs: regainMinutes * 60_000 };
};
