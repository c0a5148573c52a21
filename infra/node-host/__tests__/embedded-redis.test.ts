/** The embedded redis-server `npm start` runs: loopback only, protected mode, and a password when given. */
import { Redis } from "ioredis";
import { expect, test } from "vitest";
import { startRedisServer } from "../embedded/redis.ts";

test("with a password, clients must authenticate; the URL carries it and the config says loopback + protected mode", async () => {
  const server = await startRedisServer({ password: "embedded-pw-0123456789" });
  try {
    const authed = new Redis(server.url);
    expect(await authed.ping()).toBe("PONG");
    expect(await authed.config("GET", "protected-mode")).toEqual(["protected-mode", "yes"]);
    expect(await authed.config("GET", "bind")).toEqual(["bind", "127.0.0.1"]);
    authed.disconnect();
    const anonymous = new Redis(`redis://127.0.0.1:${server.port}`, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();
    // Not on the command line, where other users could read it with ps.
    expect(server.process.spawnargs.join(" ")).not.toContain("embedded-pw");
  } finally {
    await server.stop();
  }
});
