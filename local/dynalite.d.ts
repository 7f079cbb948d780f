/** Types for dynalite 4, which ships none: its factory returns a plain Node HTTP server (dynalite/index.js). */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  export type DynaliteOptions = {
    /** How long a new table stays CREATING (default 500 ms). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    /** Largest item accepted (default 400, DynamoDB's limit). */
    maxItemSizeKb?: number;
    /** A LevelDB directory; in memory when absent. */
    path?: string;
  };

  export default function dynalite(options?: DynaliteOptions): Server;
}
