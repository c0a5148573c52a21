import type { IncomingMessage } from "node:http";
import { APIError, ErrCode } from "../../encore/errors.ts";

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
 */
export async function readJsonBody(req: IncomingMessage, limit: number | null): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (limit !== null && declared > limit) {
    req.resume();
    throw new BodyTooLargeError(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (limit !== null && size > limit) {
      req.resume();
      throw new BodyTooLargeError(limit);
    }
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw APIError.invalidArgument(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}
