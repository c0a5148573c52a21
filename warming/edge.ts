/**
 * Warming's domain errors → Encore errors, at the edge. Unknown errors stay internal (500).
 */
import { APIError } from "encore.dev/api";

const BY_CODE: Record<string, (message: string, cause: Error) => APIError> = {
  E_WARMING_INPUT: APIError.invalidArgument,
  E_WARMING_SCHEDULE: APIError.invalidArgument,
  E_INVALID_KEY: APIError.invalidArgument,
  E_WARMING_NOT_FOUND: APIError.notFound,
  E_WARMING_CONFLICT: APIError.alreadyExists,
  E_WARMING_STATE: APIError.failedPrecondition,
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
