/** Moved to infra/local/meta.ts (the one home of Meta bodies); kept only for bench/sender.bench.ts. */
export { PAGE_ID, psidOf } from '../../infra/local/meta.ts';
