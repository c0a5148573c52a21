/**
 * The cache policy's typed errors; cache-manager/errors.ts maps each code to its API error.
 *
 * | code                  | API error          | when                                                  |
 * | --------------------- | ------------------ | ----------------------------------------------------- |
 * | `E_POLICY_ARGUMENT`   | `invalid_argument` | a setting out of range; the message lists what to fix |
 * | `E_POLICY_CONFLICT`   | `already_exists`   | concurrent policy changes kept winning; retry         |
 */
import { CodedError } from "../../../lib/errors";

export class PolicyArgumentError extends CodedError {
  static override code = "E_POLICY_ARGUMENT";
}

export class PolicyConflictError extends CodedError {
  static override code = "E_POLICY_CONFLICT";
}
