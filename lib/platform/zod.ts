/**
 * The one import of zod; every module takes it as `import * as z from '…/platform/zod.ts'`. Schemas are built
 * with `zod/mini`: the same parser core and issues as classic `zod`, but functions instead of methods, so
 * esbuild keeps only what a bundle calls (classic zod is one ~440 KiB object graph that cost each Lambda
 * ~19 ms of cold start). That holds only while `z` stays a namespace import: `export { z }` of a namespace
 * object, or reading `z.core.<value>`, pulls every schema class back in (~430 KiB) — hence `export *`, and
 * `$ZodError` (for `instanceof`) exported by name; `z.core.*` is for types only.
 *
 * zod/mini loads no locale ("Zod Mini doesn't load any locale by default … all error messages default to
 * `Invalid input`", zod.dev/packages/mini): English is installed here, once, so field errors keep their
 * reasons (`Too small: expected string to have >=1 characters`), word for word what classic zod says.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
export { $ZodError } from 'zod/v4/core';
