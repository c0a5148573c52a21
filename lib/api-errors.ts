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
  /** Runs `fn`, turning domain errors into APIErrors. */
  const edge = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw toAPIError(error);
    }
  };
  return { toAPIError, edge };
}
