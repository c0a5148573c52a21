import { APIError } from "encore.dev/api";
import { afterEach, describe, expect, it, vi } from "vitest";
import { errorEdge } from "./api-errors";
import { TokenConfigError } from "./auth/tokens";
import { ConfigError } from "./config";
import { CodedError } from "./errors";

class InvalidKeyError extends CodedError {
  static override code = "E_INVALID_KEY";
}

const { toAPIError, edge } = errorEdge({ E_INVALID_KEY: APIError.invalidArgument });

describe("a server fault is never the client's error", () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    ["a ConfigError", new ConfigError(['CACHE_L2_MODE="bogus": not one of them; expected one of single, cluster, ring'])],
    ["a TokenConfigError", new TokenConfigError('CACHE_TOKENS entry "reader": role must be one of viewer, operator, admin')],
  ])("%s found while serving answers 503 with a message for the operator, whatever the service's table says", (_, error) => {
    const api = toAPIError(error);
    expect(api.code).toBe("unavailable");
    expect(api.message).toMatch(/^the server is misconfigured; its operator must fix it \(/);
    expect(api.message).toContain(error.message.split("\n").at(-1)!.trim());
  });

  it("logs each distinct problem once, not once per request", async () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (written.push(String(chunk)), true));
    const error = new ConfigError([`CACHE_DEFAULT_TTL_MS="x${Date.now()}": not a duration`]);
    for (let i = 0; i < 5; i++) await expect(edge(() => Promise.reject(error))).rejects.toMatchObject({ code: "unavailable" });
    expect(written.filter((line) => line.includes("configuration is invalid"))).toHaveLength(1);
  });

  it("a client's bad input is still the client's error", () => {
    expect(toAPIError(new InvalidKeyError("key is empty")).code).toBe("invalid_argument");
  });
});
