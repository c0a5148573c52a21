/**
 * Domain errors → Encore errors, at a service's edge. Every typed error of a core module has a
 * stable `code`; a service's table decides what the caller sees. Anything unknown stays an
 * internal error (500) whose details are not shown.
 *
 * @example
 * export const { edge } = errorEdge({ E_INVALID_KEY: APIError.invalidArgument });
 * export const get = api(..., (p) => edge(async () => ...));
 */
import { APIError } from "encore.dev/api";
import log from "encore.dev/log";
import type { PlatformHealth } from "./health";

export type ErrorTable = Record<string, (message: string, cause: Error) => APIError>;

/** Codes of errors that are the server's configuration, never the caller's request. */
const SERVER_CONFIGURATION_CODES = new Set(["E_CONFIG", "E_TOKEN_CONFIG", "E_L3_KEYRING", "E_L3_KEY_MISMATCH"]);

export function isServerMisconfiguration(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && SERVER_CONFIGURATION_CODES.has(code);
}

const reported = new Set<string>();

/**
 * A configuration problem found while serving: 503 with a message for the operator (the caller
 * can do nothing about it), logged once per distinct problem rather than per request.
 */
export function misconfigured(error: Error): APIError {
  if (!reported.has(error.message)) {
    reported.add(error.message);
    log.error("the server's configuration is invalid: requests that need it answer 503 until an operator fixes it", { error: error.message });
  }
  return APIError.unavailable(`the server is misconfigured; its operator must fix it (${error.message.split("\n").join(" ")})`);
}

export function errorEdge(table: ErrorTable) {
  const toAPIError = (error: unknown): APIError => {
    if (error instanceof APIError) return error;
    if (isServerMisconfiguration(error)) return misconfigured(error as Error);
    const code = (error as { code?: unknown })?.code;
    const make = typeof code === "string" ? table[code] : undefined;
    if (make) return make((error as Error).message, error as Error);
    return APIError.internal("an internal error occurred", error instanceof Error ? error : undefined);
  };
  const rethrow = (error: unknown): never => {
    throw toAPIError(error);
  };
  /**
   * Runs `fn`, turning domain errors into APIErrors. Not an async function: chaining on `fn`'s
   * promise costs one promise per call where `await` in an async wrapper costs three.
   */
  const edge = <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return fn().then(undefined, rethrow);
    } catch (error) {
      return Promise.reject(toAPIError(error));
    }
  };
  return { toAPIError, edge };
}

/** The report itself when healthy; else 503 `unavailable` naming the services that are down, with the report in `details`. */
export function healthyOrUnavailable(report: PlatformHealth): PlatformHealth {
  if (report.healthy) return report;
  const down = report.services.filter((s) => !s.healthy).map((s) => s.service);
  throw APIError.unavailable(`unhealthy: ${down.join(", ")}`).withDetails(report as never);
}
