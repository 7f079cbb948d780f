/**
 * The one way a zod failure becomes words: one error per field, at a path written as a reader would
 * reach it (`replies[0].message.text`, `QUEUE_URL`, `(root)` for the value itself). Used for configuration,
 * rules files, console payloads, responder replies and queued steps alike. Zod's messages name the
 * expectation, never the input, so the result is safe to log and to show.
 */
import type * as z from './zod.ts';

export type FieldError = { path: string; message: string };

/** `replies[0].message.text`; the payload itself is `(root)`. */
export const formatPath = (path: readonly PropertyKey[]): string => {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
};

type Issue = z.core.$ZodIssue;

/** How far into the value a union branch got before failing: the deepest issue path, nested unions included. */
const depthOf = (issues: readonly Issue[]): number =>
  Math.max(
    0,
    ...issues.map((i) =>
      i.code === 'invalid_union' && i.errors.length > 0
        ? i.path.length + Math.max(...i.errors.map(depthOf))
        : i.path.length + (i.code === 'unrecognized_keys' ? 0 : 1),
    ),
  );

/**
 * A failed union lists every branch's issues; an operator wants the branch they meant. That is taken to be
 * the one that got deepest into the value (a message with an empty text failed at `message.text`, not at
 * a missing `sender_action`), then the one with fewest issues. Where several branches reject the same key's
 * value (`sender_action: "wave"`), their allowed values are merged into one message.
 */
const unionIssues = (branches: readonly (readonly Issue[])[]): Issue[] => {
  const ranked = [...branches].sort((a, b) => depthOf(b) - depthOf(a) || a.length - b.length);
  const best = ranked[0] ?? [];
  return best.map((issue) => {
    if (issue.code !== 'invalid_value') return issue;
    const key = JSON.stringify(issue.path);
    const values = branches.flatMap((b) =>
      b.flatMap((i) => (i.code === 'invalid_value' && JSON.stringify(i.path) === key ? i.values : [])),
    );
    const unique = [...new Set(values.map((v) => JSON.stringify(v)))];
    return unique.length > issue.values.length
      ? { ...issue, message: `expected one of ${unique.join(' | ')}` }
      : issue;
  });
};

/**
 * A union given its own message (zod's default is "Invalid input") says what the value may be. It is kept
 * next to the closest branch's errors when that branch failed at the value's own keys (depth ≤ 2): the
 * reader may well have meant another branch.
 */
const saysWhatItMayBe = (issue: Issue): boolean => issue.message !== 'Invalid input';

/** Zod issues as one error per field: unions resolved to their closest branch, unknown keys one by one. */
export const fieldErrors = (issues: readonly Issue[], base: readonly PropertyKey[] = []): FieldError[] =>
  issues.flatMap((issue): FieldError[] => {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const closest = unionIssues(issue.errors);
      const own =
        saysWhatItMayBe(issue) && depthOf(closest) <= 2
          ? [{ path: formatPath(path), message: issue.message }]
          : [];
      return [...own, ...fieldErrors(closest, path)];
    }
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({ path: formatPath([...path, key]), message: 'unknown field' }));
    return [{ path: formatPath(path), message: issue.message }];
  });

/** All field errors on one line (`a[0].b: reason; C: reason`): for error messages and logs. */
export const describeIssues = (issues: readonly Issue[]): string =>
  fieldErrors(issues)
    .map((e) => `${e.path}: ${e.message}`)
    .join('; ');
