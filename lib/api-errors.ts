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

export type ErrorTable = Record<string, (message: string, cause: Error) => APIError>;

export function errorEdge(table: ErrorTable) {
  const toAPIError = (error: unknown): APIError => {
    if (error instanceof APIError) return error;
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
