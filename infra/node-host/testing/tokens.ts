/** Tokens every test host is configured with (CACHE_ADMIN_TOKEN and CACHE_TOKENS). */
export const TEST_TOKENS = {
  admin: "test-admin-token",
  operator: "test-operator-token",
  viewer: "test-viewer-token",
  /** An operator limited to the `product:` namespace. */
  scoped: "test-scoped-token",
} as const;

export const TEST_TOKEN_CONFIG = JSON.stringify([
  { name: "ops", role: "operator", token: TEST_TOKENS.operator },
  { name: "dash", role: "viewer", token: TEST_TOKENS.viewer },
  { name: "product-team", role: "operator", token: TEST_TOKENS.scoped, namespaces: ["product:"] },
]);

export const TEST_INTERNAL_SECRET = "test-internal-secret-0123456789abcdef";

/** The environment a test host process (or in-process host) runs with. */
export function testHostEnv(): Record<string, string> {
  return {
    CACHE_ADMIN_TOKEN: TEST_TOKENS.admin,
    CACHE_TOKENS: TEST_TOKEN_CONFIG,
    CACHET_INTERNAL_SECRET: TEST_INTERNAL_SECRET,
    // Tests serve their HTTP origins on loopback, which the egress policy refuses by default.
    CACHE_ORIGIN_ALLOW_NETWORKS: "127.0.0.1",
    CACHET_PGLITE_DIR: process.env.CACHET_PGLITE_DIR ?? "memory://",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    // Test files share one Redis while each host has its own in-memory database: a deployment
    // that would refuse to start in production (tests of the check set "refuse").
    CACHET_DEPLOYMENT_CHECK: "warn",
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
