/**
 * The base of the project's typed errors: a stable `code` per class (as bentocache's
 * `E_FACTORY_SOFT_TIMEOUT`), the class name as `name`, and the underlying error as `cause`.
 *
 *   export class CronScheduleError extends CodedError {
 *     static code = "E_CRON_SCHEDULE";
 *   }
 *   throw new CronScheduleError('"every" must be whole minutes', { cause });
 */
export class CodedError extends Error {
  static code = "E_UNKNOWN";
  readonly code: string = (this.constructor as typeof CodedError).code;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
