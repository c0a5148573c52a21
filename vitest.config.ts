import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import { aliasEntries } from "./infra/node-host/aliases.js";
import { LongestFirstSequencer } from "./infra/node-host/testing/sequencer.ts";

export default defineConfig({
  resolve: {
    // The same mapping the Node host's resolve hook applies: encore.dev/* → the host.
    alias: aliasEntries().map(([find, replacement]) => ({ find: new RegExp(`^${find.replace(/[.~/]/g, "\\$&")}$`), replacement })),
  },
  test: {
    // frontend/src: unit tests (*.test.ts, node) and component tests (*.test.tsx, jsdom per file); frontend/e2e: browser tests
    include: ["**/*.test.ts", "frontend/src/**/*.test.tsx"],
    exclude: ["node_modules/**", "frontend/node_modules/**", "dashboard/public/assets/**", ".cachet/**", "infra/node-host/__tests__/fixtures/**"],
    globalSetup: ["./infra/node-host/testing/global-setup.ts"],
    setupFiles: ["./frontend/testing/setup-dom.ts"], // a no-op outside jsdom
    testTimeout: 30_000,
    // Above the 90 s a host process may take to start on a loaded machine (testing/spawn.ts).
    hookTimeout: 120_000,
    pool: "forks",
    // A file per core. Vitest 4.1's default is cores − 1: one file at a time on the 2-core
    // machines this runs on, while most files spend their time waiting on the hosts, servers and
    // browsers they start.
    maxWorkers: availableParallelism(),
    // The longest files first, so that the run does not end with one long file running alone.
    sequence: { sequencer: LongestFirstSequencer },
  },
});
