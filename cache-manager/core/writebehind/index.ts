/** Write-behind: cache now, origin later, from a durable Redis Stream queue. */
export * from "./errors.ts";
export * from "./types.ts";
export { backoffDelay, type BackoffOptions } from "./backoff.ts";
export { writeBehindKeys, type WriteBehindKeys } from "./stream.ts";
export { WriteBehindQueue } from "./queue.ts";
