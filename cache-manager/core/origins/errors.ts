/**
 * Typed origin errors with stable codes. The endpoint layer maps them to `APIError`:
 *
 * | code                      | APIError            | meaning                                          |
 * | ------------------------- | ------------------- | ------------------------------------------------ |
 * | `E_ORIGIN_CONFIG`         | `invalid_argument`  | an origin config is wrong; `problems` says what to fix |
 * | `E_ORIGIN_ARGUMENT`       | `invalid_argument`  | a call's input is wrong (key outside the namespace, bad limit) |
 * | `E_ORIGIN_NOT_CONFIGURED` | `not_found`         | no origin serves this key or namespace           |
 * | `E_ORIGIN_UNSUPPORTED`    | `failed_precondition` | the origin has no writer / lister / remover    |
 * | `E_ORIGIN_REQUEST`        | `unavailable`       | the origin failed (non-2xx, SQL error, bad JSON) |
 * | `E_ORIGIN_EGRESS`         | `failed_precondition` | an HTTP origin points at an internal address the egress policy refuses |
 * | `E_ORIGIN_TIMEOUT`        | `deadline_exceeded` | the origin did not answer within its timeout     |
 * | `E_ORIGIN_ABORTED`        | `canceled`          | the caller aborted the call                      |
 * | `E_ORIGIN_CONFLICT`       | `aborted`           | concurrent registry changes kept winning; retry  |
 */

import { CodedError } from "../../../lib/errors.ts";

export type OriginOperation = "load" | "list" | "write" | "remove";

/** Base class: every origin error has a stable `code`. */
export abstract class OriginError extends CodedError {}

/** An origin config is invalid. `problems` lists every issue, each saying what to fix. */
export class OriginConfigError extends OriginError {
  static override code = "E_ORIGIN_CONFIG";
  readonly problems: string[];
  readonly namespace: string | undefined;

  constructor(problems: string[], options: { namespace?: string; where?: string; cause?: unknown } = {}) {
    const subject = options.where ?? (options.namespace ? `origin "${options.namespace}"` : "origin config");
    super(`invalid ${subject}: ${problems.join("; ")}`, { cause: options.cause });
    this.problems = problems;
    this.namespace = options.namespace;
  }
}

/** A call's input is invalid (e.g. the key is not in the origin's namespace). */
export class OriginArgumentError extends OriginError {
  static override code = "E_ORIGIN_ARGUMENT";
}

/** No origin is configured for the key or namespace. */
export class OriginNotConfiguredError extends OriginError {
  static override code = "E_ORIGIN_NOT_CONFIGURED";
}

/** The origin exists but cannot do this (no `writeQuery`, no `listQuery`, ...). */
export class OriginUnsupportedError extends OriginError {
  static override code = "E_ORIGIN_UNSUPPORTED";
}

/** The origin failed: an HTTP status other than 2xx (and 404 on load), a SQL error, an unreadable body. */
export class OriginRequestError extends OriginError {
  static override code = "E_ORIGIN_REQUEST";
  readonly namespace: string;
  readonly operation: OriginOperation;
  /** The HTTP status when the origin answered with one. */
  readonly status: number | undefined;

  constructor(message: string, details: { namespace: string; operation: OriginOperation; status?: number; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.namespace = details.namespace;
    this.operation = details.operation;
    this.status = details.status;
  }
}

/** An HTTP origin would connect to an address the egress policy refuses (egress.ts). */
export class OriginEgressError extends OriginError {
  static override code = "E_ORIGIN_EGRESS";
}

/** The origin did not answer within `timeoutMs` (a hard deadline: the request is aborted). */
export class OriginTimeoutError extends OriginError {
  static override code = "E_ORIGIN_TIMEOUT";
  readonly namespace: string;
  readonly operation: OriginOperation;
  readonly timeoutMs: number;

  constructor(details: { namespace: string; operation: OriginOperation; timeoutMs: number }) {
    super(`origin "${details.namespace}" did not complete ${details.operation} within ${details.timeoutMs} ms`);
    this.namespace = details.namespace;
    this.operation = details.operation;
    this.timeoutMs = details.timeoutMs;
  }
}

/** The caller's AbortSignal fired before the origin answered. */
export class OriginAbortedError extends OriginError {
  static override code = "E_ORIGIN_ABORTED";
}

/** The shared registry kept changing under a `put`/`remove` (retry later). */
export class OriginConflictError extends OriginError {
  static override code = "E_ORIGIN_CONFLICT";
}
