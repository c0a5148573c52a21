/**
 * Domain errors → Encore errors, at the edge. Every typed error of the core has a stable `code`;
 * this table decides what the caller sees. Anything unknown stays an internal error (500).
 */
import { APIError } from "encore.dev/api";
import { errorEdge, type ErrorTable } from "../lib/api-errors";

const BY_CODE: ErrorTable = {
  E_INVALID_KEY: APIError.invalidArgument,
  E_INVALID_ENTRY: APIError.invalidArgument,
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
  E_ORIGIN_EGRESS: APIError.failedPrecondition,
  E_ORIGIN_TIMEOUT: APIError.deadlineExceeded,
  E_ORIGIN_CONFLICT: APIError.alreadyExists,
  E_POLICY_ARGUMENT: APIError.invalidArgument,
  E_POLICY_CONFLICT: APIError.aborted,
  E_WRITE_BEHIND_FULL: APIError.resourceExhausted,
  E_WRITE_BEHIND_UNAVAILABLE: APIError.unavailable,
};

export const { toAPIError, edge } = errorEdge(BY_CODE);
