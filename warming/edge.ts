/**
 * Warming's domain errors → Encore errors, at the edge. Unknown errors stay internal (500).
 */
import { APIError } from "encore.dev/api";
import { errorEdge, type ErrorTable } from "../lib/api-errors";

const BY_CODE: ErrorTable = {
  E_WARMING_INPUT: APIError.invalidArgument,
  E_WARMING_SCHEDULE: APIError.invalidArgument,
  E_INVALID_KEY: APIError.invalidArgument,
  E_WARMING_NOT_FOUND: APIError.notFound,
  E_WARMING_CONFLICT: APIError.alreadyExists,
  E_WARMING_STATE: APIError.failedPrecondition,
  // PostgreSQL unreachable (the Node host's SQL errors): retry later, not an internal error.
  E_SQL_CONNECTION: (message, cause) => APIError.unavailable(`the warming database is unavailable: ${message}`, cause),
  E_SQL_TIMEOUT: (message, cause) => APIError.unavailable(`the warming database is unavailable: ${message}`, cause),
};

export const { toAPIError, edge } = errorEdge(BY_CODE);
