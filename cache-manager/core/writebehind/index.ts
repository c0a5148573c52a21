/** Write-behind: cache now, origin later, from a durable Redis Stream queue. */
export * from "./errors.ts";
export { backoffDelay, type BackoffOptions } from "./backoff.ts";
export {
  WriteBehindQueue,
  writeBehindKeys,
  type DeadLetter,
  type EnqueueResult,
  type WriteBehindEvent,
  type WriteBehindKeys,
  type WriteBehindOptions,
  type WriteBehindStats,
  type WriteFunction,
} from "./queue.ts";
