import { defineConfig } from "vitest/config";
import { aliasEntries } from "./infra/node-host/aliases.js";

export default defineConfig({
  resolve: {
    // The same mapping the Node host's resolve hook applies: encore.dev/* → the host.
    alias: aliasEntries().map(([find, replacement]) => ({ find: new RegExp(`^${find.replace(/[.~/]/g, "\\$&")}$`), replacement })),
  },
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "frontend/**", ".cachet/**", "infra/node-host/test/fixtures/**"],
    globalSetup: ["./infra/node-host/testing/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
