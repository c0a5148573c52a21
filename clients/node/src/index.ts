export * from "./client.ts";
export { CachetStore, type CachetStoreOptions } from "./keyv.ts";
