/**
 * Types for the two undici modules graph.ts imports by path (undici ships types for its index only). The
 * index also loads fetch, WebSocket, caches and more: 719 KiB against 464 KiB for these two (coldstart bench).
 */
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}

declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';
  /** Dispatcher.prototype.request, which undici's index attaches; called with the dispatcher as `this`. */
  export default function request(
    this: Dispatcher,
    options: Dispatcher.RequestOptions,
  ): Promise<Dispatcher.ResponseData>;
}
