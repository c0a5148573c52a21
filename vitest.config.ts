import { defineConfig } from "vitest/config";
import { aliasEntries } from "./infra/node-host/aliases.js";

export default defineConfig({
  resolve: {
    // The same mapping the Node host's resolve hook applies: encore.dev/* → the host.
    alias: aliasEntries().map(([find, replacement]) => ({ find: new RegExp(`^${find.replace(/[.~/]/g, "\\$&")}$`), replacement })),
  },
  test: {
    include: ["**/*.test.ts"], // frontend/src (unit) and frontend/e2e (browser) included
    exclude: ["node_modules/**", "frontend/node_modules/**", "dashboard/dist/**", ".cachet/**", "infra/node-host/test/fixtures/**"],
    globalSetup: ["./infra/node-host/testing/global-setup.ts", "./frontend/testing/ensure-dashboard.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
