/**
 * The one import of zod. Every schema is built with `zod/mini`: the same parser core and issues as classic
 * `zod`, but functions instead of methods, so esbuild drops what a bundle never calls (classic zod is one
 * ~440 KiB object graph; importing it cost every Lambda ~19 ms of cold start, mini with English ~1–2 ms).
 *
 * zod/mini loads no locale ("Zod Mini doesn't load any locale by default … all error messages default to
 * `Invalid input`", zod.dev/packages/mini): English is installed here, once, so field errors keep their
 * reasons (`Too small: expected string to have >=1 characters`), word for word what classic zod says.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';

z.config(en());

export { z };
