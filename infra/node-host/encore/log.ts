/**
 * The Node host's `encore.dev/log`: structured log lines on stderr, one JSON object per line when
 * LOG_FORMAT=json, otherwise readable text. LOG_LEVEL (trace|debug|info|warn|error) filters.
 * With tracing on, a line written inside a span carries its `trace_id` and `span_id`.
 */
import { logFields } from "../runtime/tracing.ts";
export type FieldValue = string | number | boolean | null | undefined | FieldsObject | FieldValue[];
export interface FieldsObject {
  [key: string]: FieldValue;
}

export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
}

const names = ["trace", "debug", "info", "warn", "error"] as const;

function threshold(): LogLevel {
  const wanted = (process.env.LOG_LEVEL ?? "info").toLowerCase();
  const index = names.indexOf(wanted as (typeof names)[number]);
  return index === -1 ? LogLevel.Info : index;
}

class Logger {
  constructor(private readonly fields: FieldsObject = {}) {}

  with(fields: FieldsObject): Logger {
    return new Logger({ ...this.fields, ...fields });
  }

  trace(msg: string, fields?: FieldsObject) {
    this.write(LogLevel.Trace, msg, fields);
  }
  debug(msg: string, fields?: FieldsObject) {
    this.write(LogLevel.Debug, msg, fields);
  }
  info(msg: string, fields?: FieldsObject) {
    this.write(LogLevel.Info, msg, fields);
  }
  warn(errOrMsg: unknown, msgOrFields?: string | FieldsObject, fields?: FieldsObject) {
    this.writeWithError(LogLevel.Warn, errOrMsg, msgOrFields, fields);
  }
  error(errOrMsg: unknown, msgOrFields?: string | FieldsObject, fields?: FieldsObject) {
    this.writeWithError(LogLevel.Error, errOrMsg, msgOrFields, fields);
  }

  private writeWithError(level: LogLevel, errOrMsg: unknown, msgOrFields?: string | FieldsObject, fields?: FieldsObject) {
    if (typeof errOrMsg === "string") return this.write(level, errOrMsg, msgOrFields as FieldsObject | undefined);
    const err = errOrMsg instanceof Error ? errOrMsg : new Error(String(errOrMsg));
    this.write(level, (msgOrFields as string) ?? err.message, { ...fields, error: err.stack ?? err.message });
  }

  private write(level: LogLevel, msg: string, fields?: FieldsObject) {
    if (level < threshold()) return;
    const all = { ...this.fields, ...fields, ...logFields() };
    if (process.env.LOG_FORMAT === "json") {
      process.stderr.write(JSON.stringify({ level: names[level], time: new Date().toISOString(), msg, ...all }) + "\n");
      return;
    }
    const extra = Object.entries(all)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    process.stderr.write(`${new Date().toISOString()} ${names[level].toUpperCase().padEnd(5)} ${msg}${extra ? " " + extra : ""}\n`);
  }
}

const log = new Logger();
export default log;
export const { trace, debug, info, warn, error } = {
  trace: log.trace.bind(log),
  debug: log.debug.bind(log),
  info: log.info.bind(log),
  warn: log.warn.bind(log),
  error: log.error.bind(log),
};
export type { Logger };
