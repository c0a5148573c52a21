/**
 * Host processes for tests (see spawn.ts): each serves a chosen set of services on its own port,
 * sharing Redis (and Postgres when DATABASE_URL is set); they are stopped at the end of the test
 * file.
 */
import { afterAll } from "vitest";
import { spawnHostProcess, type HostProcess, type HostProcessOptions } from "./spawn.ts";

export type { HostProcess, HostProcessOptions };

const running = new Set<HostProcess>();
let cleanupRegistered = false;

export async function startHostProcess(options: HostProcessOptions = {}): Promise<HostProcess> {
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    afterAll(async () => {
      await Promise.all([...running].map((h) => h.stop()));
    });
  }
  const host = await spawnHostProcess(options);
  running.add(host);
  return host;
}

/** Starts `count` host processes with the same options, in parallel. */
export function startHostProcesses(count: number, options: HostProcessOptions = {}): Promise<HostProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startHostProcess(options)));
}
