/** `APIError` and `ErrCode`, with the same API as encore.dev/api, plus the HTTP mapping. */

export enum ErrCode {
  OK = "ok",
  Canceled = "canceled",
  Unknown = "unknown",
  InvalidArgument = "invalid_argument",
  DeadlineExceeded = "deadline_exceeded",
  NotFound = "not_found",
  AlreadyExists = "already_exists",
  PermissionDenied = "permission_denied",
  ResourceExhausted = "resource_exhausted",
  FailedPrecondition = "failed_precondition",
  Aborted = "aborted",
  OutOfRange = "out_of_range",
  Unimplemented = "unimplemented",
  Internal = "internal",
  Unavailable = "unavailable",
  DataLoss = "data_loss",
  Unauthenticated = "unauthenticated",
}

export type ErrDetails = Record<string, any>;

/** The HTTP status Encore answers with for each error code. */
export const HTTP_STATUS: Record<ErrCode, number> = {
  [ErrCode.OK]: 200,
  [ErrCode.Canceled]: 499,
  [ErrCode.Unknown]: 500,
  [ErrCode.InvalidArgument]: 400,
  [ErrCode.DeadlineExceeded]: 504,
  [ErrCode.NotFound]: 404,
  [ErrCode.AlreadyExists]: 409,
  [ErrCode.PermissionDenied]: 403,
  [ErrCode.ResourceExhausted]: 429,
  [ErrCode.FailedPrecondition]: 400,
  [ErrCode.Aborted]: 409,
  [ErrCode.OutOfRange]: 400,
  [ErrCode.Unimplemented]: 501,
  [ErrCode.Internal]: 500,
  [ErrCode.Unavailable]: 503,
  [ErrCode.DataLoss]: 500,
  [ErrCode.Unauthenticated]: 401,
};

const CODES = new Set<string>(Object.values(ErrCode));

export class APIError extends Error {
  public readonly code: ErrCode;
  public readonly details?: ErrDetails;

  static canceled = (msg: string, cause?: Error) => new APIError(ErrCode.Canceled, msg, cause);
  static unknown = (msg: string, cause?: Error) => new APIError(ErrCode.Unknown, msg, cause);
  static invalidArgument = (msg: string, cause?: Error) => new APIError(ErrCode.InvalidArgument, msg, cause);
  static deadlineExceeded = (msg: string, cause?: Error) => new APIError(ErrCode.DeadlineExceeded, msg, cause);
  static notFound = (msg: string, cause?: Error) => new APIError(ErrCode.NotFound, msg, cause);
  static alreadyExists = (msg: string, cause?: Error) => new APIError(ErrCode.AlreadyExists, msg, cause);
  static permissionDenied = (msg: string, cause?: Error) => new APIError(ErrCode.PermissionDenied, msg, cause);
  static resourceExhausted = (msg: string, cause?: Error) => new APIError(ErrCode.ResourceExhausted, msg, cause);
  static failedPrecondition = (msg: string, cause?: Error) => new APIError(ErrCode.FailedPrecondition, msg, cause);
  static aborted = (msg: string, cause?: Error) => new APIError(ErrCode.Aborted, msg, cause);
  static outOfRange = (msg: string, cause?: Error) => new APIError(ErrCode.OutOfRange, msg, cause);
  static unimplemented = (msg: string, cause?: Error) => new APIError(ErrCode.Unimplemented, msg, cause);
  static internal = (msg: string, cause?: Error) => new APIError(ErrCode.Internal, msg, cause);
  static unavailable = (msg: string, cause?: Error) => new APIError(ErrCode.Unavailable, msg, cause);
  static dataLoss = (msg: string, cause?: Error) => new APIError(ErrCode.DataLoss, msg, cause);
  static unauthenticated = (msg: string, cause?: Error) => new APIError(ErrCode.Unauthenticated, msg, cause);

  withDetails(details: ErrDetails): APIError {
    return new APIError(this.code, this.message, this.cause as Error, details);
  }

  constructor(code: ErrCode, msg: string, cause?: Error, details?: ErrDetails) {
    super(msg, { cause });
    this.code = code;
    this.details = details;
    Object.defineProperty(this, "name", { value: "APIError", enumerable: false, configurable: true });
  }
}

/** The error body Encore sends: `{code, message, details}`. */
export interface WireError {
  code: string;
  message: string;
  details: ErrDetails | null;
}

/**
 * Turns anything thrown by a handler into the wire error and its status. Only APIErrors say what
 * went wrong; anything else is an internal error whose message is not leaked.
 */
export function toWireError(err: unknown): { status: number; body: WireError } {
  if (err instanceof APIError) {
    return { status: HTTP_STATUS[err.code] ?? 500, body: { code: err.code, message: err.message, details: err.details ?? null } };
  }
  return { status: 500, body: { code: ErrCode.Internal, message: "an internal error occurred", details: null } };
}

/** Rebuilds an APIError from a wire error received over HTTP (service-to-service calls). */
export function fromWireError(status: number, body: unknown): APIError {
  const wire = body as Partial<WireError> | undefined;
  const code = wire && typeof wire.code === "string" && CODES.has(wire.code) ? (wire.code as ErrCode) : statusToCode(status);
  const message = wire && typeof wire.message === "string" ? wire.message : `HTTP ${status}`;
  return new APIError(code, message, undefined, wire?.details ?? undefined);
}

function statusToCode(status: number): ErrCode {
  for (const [code, s] of Object.entries(HTTP_STATUS)) if (s === status) return code as ErrCode;
  return status >= 500 ? ErrCode.Internal : ErrCode.Unknown;
}
