/** Origins: namespace → loader (SQL or HTTP) with an optional writer, and the shared registry. */
export * from "./errors.ts";
export * from "./types.ts";
export { validateOriginConfig, validateOriginConfigs, namespaceProblems, namespacesOverlap, assertNoOverlap } from "./validate.ts";
export { createOrigin } from "./create.ts";
export { createSqlOrigin, executorFromQueryable, rowValue, type Queryable } from "./sql.ts";
export { createHttpOrigin, expandUrl, DEFAULT_HTTP_TIMEOUT_MS } from "./http.ts";
export { EgressPolicy, egressFetch, egressPolicyFromEnv } from "./egress.ts";
export { OriginRegistry, longestPrefixMatch, readOriginsFile, type OriginEntry, type OriginRegistryChange, type OriginRegistryOptions } from "./registry.ts";
export { seedDemoProducts, demoProductOrigin, DEMO_PRODUCT_NAMESPACE } from "./demo.ts";
