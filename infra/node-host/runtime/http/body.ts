import type { IncomingMessage } from "node:http";
import { APIError, ErrCode } from "../../encore/errors.ts";
import { parseJsonText } from "./json-text.ts";

/** Encore's default request body limit. */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;

/** Thrown for bodies over the limit; the server answers 413. */
export class BodyTooLargeError extends APIError {
  constructor(limit: number) {
    super(ErrCode.ResourceExhausted, `request body is larger than the limit of ${limit} bytes`);
  }
}

/**
 * Reads and parses a JSON request body, refusing more than `limit` bytes (null: no limit).
 * An empty body is `undefined`; malformed JSON is `invalid_argument` with the parser's reason.
 * Over the limit, the request is destroyed (its connection with it) and the promise rejects with
 * BodyTooLargeError. Listens to the stream's events rather than iterating it: one promise per
 * body instead of one per chunk and the iterator's own.
 */
export function readJsonBody(req: IncomingMessage, limit: number | null): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (limit !== null && declared > limit) {
    req.resume();
    return Promise.reject(new BodyTooLargeError(limit));
  }
  // Inline, unnamed listeners: the host runs under tsx, which gives every named closure its name
  // with Object.defineProperty each time it is created. A settled promise ignores later events.
  // `settled` also spares the error of "close", which follows every request: an Error captures a
  // stack trace, a cost no request should pay for nothing.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (limit !== null && size > limit) {
        settled = true;
        chunks.length = 0;
        req.resume();
        req.destroy();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (settled) return;
      settled = true;
      if (size === 0) return resolve(undefined);
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)).toString("utf8");
      try {
        resolve(parseJsonText(text));
      } catch (err) {
        reject(APIError.invalidArgument(`the request body is not valid JSON: ${(err as Error).message}`));
      }
    });
    req.on("error", (err: Error) => {
      if (settled) return;
      settled = true;
      reject(err);
    });
    req.on("close", () => {
      if (settled) return;
      settled = true;
      reject(Object.assign(new Error("the request was closed before its body was read"), { code: "ERR_STREAM_PREMATURE_CLOSE" }));
    });
  });
}
