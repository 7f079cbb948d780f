/**
 * Field schemas every channel parser shares: ids, timestamps, optional texts and stable event ids.
 * Strict on what we use: a wrong type makes the item malformed (skipped and counted), never a throw.
 */
import { createHash } from 'node:crypto';
import * as z from '../platform/zod.ts';

/**
 * Ids used in queue group ids: printable ASCII without spaces (SQS MessageGroupId alphabet) and short
 * enough that `<pageId>:<psid>` stays within SQS's 128-character group id limit.
 */
export const ID_PATTERN = /^[\x21-\x7e]{1,63}$/;
/** A mid usable as a sequence id as-is (codec: ≤ 200 chars); other mids are hashed. */
const MID_AS_ID = /^[\x21-\x7e]{1,200}$/;

/** Numeric ids are accepted only as safe integers; larger integer literals arrive as their source text. */
export const idSchema = z.pipe(
  z.pipe(
    z.union([
      z.string(),
      z.number().check(z.refine(Number.isSafeInteger, 'numeric id must be a safe integer')),
    ]),
    z.transform(String),
  ),
  z.string().check(z.regex(ID_PATTERN, 'id must be 1-63 printable ASCII characters')),
);

/** Epoch ms from a number or numeric string; seconds (anything below 1e11, i.e. before 1973 in ms) × 1000. */
export const timestampSchema = z.pipe(
  z.pipe(
    // z.number() rejects NaN and ±Infinity itself (a numeric string too long for a double parses to Infinity).
    z.pipe(z.union([z.number(), z.string().check(z.regex(/^\d+(\.\d+)?$/))]), z.transform(Number)),
    z.number().check(z.minimum(0)),
  ),
  z.transform((n: number) => {
    const t = Math.trunc(n);
    return t < 1e11 ? t * 1000 : t;
  }),
);

/** An optional text field we use: a string, or absent/null. Any other type makes the item malformed. */
export const optionalText = z.pipe(
  z.nullish(z.string()),
  z.transform((v: string | null | undefined) => v ?? undefined),
);

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * A stable id for events without a usable mid: the same event re-delivered by Meta hashes the same
 * (every input comes from the body), two different events of one user differ by timestamp or content.
 */
export const hashedEventId = (parts: readonly unknown[]): string => `h_${sha256(JSON.stringify(parts))}`;

export const eventIdFromMid = (mid: string): string =>
  MID_AS_ID.test(mid) ? mid : hashedEventId(['mid', mid]);
