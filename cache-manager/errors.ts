/**
 * Domain errors → Encore errors, at the edge. Every typed error of the core has a stable `code`;
 * this table decides what the caller sees. Anything unknown stays an internal error (500).
 */
import { APIError } from "encore.dev/api";

const BY_CODE: Record<string, (message: string, cause: Error) => APIError> = {
  E_INVALID_KEY: APIError.invalidArgument,
  E_CACHE_MISS: APIError.notFound,
  E_CACHE_UNAVAILABLE: APIError.unavailable,
  E_NO_WRITER: APIError.failedPrecondition,
  E_L1_ARGUMENT: APIError.invalidArgument,
  E_L2_INVALID_ARGUMENT: APIError.invalidArgument,
  E_L2_INVALID_CURSOR: APIError.invalidArgument,
  E_L2_UNAVAILABLE: APIError.unavailable,
  E_BREAKER_OPEN: APIError.unavailable,
  E_LOAD_HARD_TIMEOUT: APIError.deadlineExceeded,
  E_ORIGIN_CONFIG: APIError.invalidArgument,
  E_ORIGIN_ARGUMENT: APIError.invalidArgument,
  E_ORIGIN_NOT_CONFIGURED: APIError.notFound,
  E_ORIGIN_UNSUPPORTED: APIError.failedPrecondition,
  E_ORIGIN_REQUEST: APIError.unavailable,
  E_ORIGIN_TIMEOUT: APIError.deadlineExceeded,
  E_ORIGIN_CONFLICT: APIError.alreadyExists,
  E_WRITE_BEHIND_FULL: APIError.resourceExhausted,
  E_WRITE_BEHIND_UNAVAILABLE: APIError.unavailable,
};

export function toAPIError(error: unknown): APIError {
  if (error instanceof APIError) return error;
  const code = (error as { code?: unknown })?.code;
  const make = typeof code === "string" ? BY_CODE[code] : undefined;
  if (make) return make((error as Error).message, error as Error);
  return APIError.internal("an internal error occurred", error instanceof Error ? error : undefined);
}

/** Runs `fn`, turning domain errors into APIErrors. */
export async function edge<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toAPIError(error);
  }
}
