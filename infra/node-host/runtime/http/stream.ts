/**
 * Encore's streaming endpoints over WebSocket: every message is one JSON text frame. `streamOut`
 * only sends, `streamIn` only receives (its handler's result is the final message), and
 * `streamInOut` does both. The socket closes when the handler returns.
 *
 * Bounded by construction, so no client can grow the host's memory (see SECURITY.md, "Streams"):
 * - a message is at most `maxMessageBytes` (the WebSocket server refuses larger frames, 1009);
 * - a `streamOut` never reads, so what its client sends is dropped unparsed;
 * - unread messages are kept as their raw bytes (JSON is parsed when the handler reads it, so
 *   `[[],[],…]` cannot expand in memory), at most `maxUnreadMessages` and `maxUnreadBytes`;
 *   beyond that the client is disconnected (1008);
 * - a client sending more than `maxMessagesPerSecond` is disconnected (1008);
 * - a client that does not read what it is sent is disconnected once `maxSendBufferBytes` wait
 *   unsent (1008);
 * - at most `maxSockets` streams are open at once (more get 503 before the upgrade).
 */
import type { WebSocket } from "ws";
import log from "../../encore/log.ts";
import type { BoundEndpoint } from "../endpoints.ts";

export interface StreamLimits {
  maxMessageBytes: number;
  maxUnreadMessages: number;
  maxUnreadBytes: number;
  maxMessagesPerSecond: number;
  maxSendBufferBytes: number;
  maxSockets: number;
}

export const DEFAULT_STREAM_LIMITS: Readonly<StreamLimits> = Object.freeze({
  maxMessageBytes: 64 * 1024,
  maxUnreadMessages: 64,
  maxUnreadBytes: 1024 * 1024,
  maxMessagesPerSecond: 100,
  maxSendBufferBytes: 4 * 1024 * 1024,
  maxSockets: 1000,
});

/** The environment variable that sets each limit. */
export const STREAM_LIMIT_VARIABLES: Readonly<Record<keyof StreamLimits, string>> = Object.freeze({
  maxMessageBytes: "CACHET_STREAM_MAX_MESSAGE_BYTES",
  maxUnreadMessages: "CACHET_STREAM_MAX_UNREAD_MESSAGES",
  maxUnreadBytes: "CACHET_STREAM_MAX_UNREAD_BYTES",
  maxMessagesPerSecond: "CACHET_STREAM_MAX_MESSAGES_PER_SECOND",
  maxSendBufferBytes: "CACHET_STREAM_MAX_SEND_BUFFER_BYTES",
  maxSockets: "CACHET_STREAM_MAX_SOCKETS",
});

/** The limits set in `env` over the defaults; throws saying which variable is not a positive integer. */
export function streamLimitsFromEnv(env: Record<string, string | undefined> = process.env): StreamLimits {
  const limits = { ...DEFAULT_STREAM_LIMITS };
  for (const [field, variable] of Object.entries(STREAM_LIMIT_VARIABLES) as Array<[keyof StreamLimits, string]>) {
    const text = env[variable];
    if (text === undefined || text === "") continue;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${variable} must be a positive whole number, got "${text}"`);
    limits[field] = value;
  }
  return limits;
}

/** Counts messages in the current one-second window. */
class MessageRate {
  private windowStart = 0;
  private count = 0;
  constructor(private readonly perSecond: number) {}

  /** False when this message is over the rate. */
  take(now: number): boolean {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.count = 0;
    }
    return ++this.count <= this.perSecond;
  }
}

export async function serveSocket(
  ws: WebSocket,
  endpoint: BoundEndpoint,
  handshake: Record<string, unknown> | undefined,
  limits: StreamLimits = DEFAULT_STREAM_LIMITS,
): Promise<void> {
  const { kind, handler } = endpoint.definition;
  const reads = kind !== "streamOut";
  const inbox: Buffer[] = [];
  let inboxBytes = 0;
  const waiters: Array<(msg: IteratorResult<Buffer>) => void> = [];
  const rate = new MessageRate(limits.maxMessagesPerSecond);
  let ended = false;

  const refuse = (code: number, reason: string) => {
    ended = true;
    ws.close(code, reason);
  };

  // A frame over the size limit or a broken frame is an 'error' on the socket (ws closes it with
  // 1009/1002); without a listener it would be an uncaught exception that ends the process.
  ws.on("error", (error) => {
    ended = true;
    log.debug("stream client sent a bad frame", { endpoint: `${endpoint.manifest.service}.${endpoint.manifest.name}`, error: error.message });
  });
  ws.on("message", (data, isBinary) => {
    if (ended) return;
    if (!rate.take(Date.now())) return refuse(1008, `more than ${limits.maxMessagesPerSecond} messages per second`);
    if (!reads) return; // a streamOut never reads: drop without parsing
    if (isBinary) return refuse(1003, "messages must be JSON text");
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
    const waiter = waiters.shift();
    if (waiter) return waiter({ value: bytes, done: false });
    if (inbox.length >= limits.maxUnreadMessages || inboxBytes + bytes.length > limits.maxUnreadBytes) {
      return refuse(1008, "too many unread messages");
    }
    inbox.push(bytes);
    inboxBytes += bytes.length;
  });
  const closed = new Promise<void>((resolve) =>
    ws.on("close", () => {
      ended = true;
      inbox.length = 0;
      for (const waiter of waiters.splice(0)) waiter({ value: undefined, done: true });
      resolve();
    }),
  );

  /** The next message's bytes, or undefined once the stream has ended. */
  const next = (): Promise<Buffer | undefined> => {
    const queued = inbox.shift();
    if (queued) {
      inboxBytes -= queued.length;
      return Promise.resolve(queued);
    }
    if (ended) return Promise.resolve(undefined);
    return new Promise((resolve) => waiters.push((result) => resolve(result.done ? undefined : result.value)));
  };
  /** Parses a message when the handler reads it; a client sending non-JSON is disconnected. */
  const parse = (bytes: Buffer): unknown => {
    try {
      return JSON.parse(bytes.toString("utf8"));
    } catch {
      refuse(1007, "messages must be JSON");
      throw new Error("stream closed: the client sent a message that is not JSON");
    }
  };

  const stream = {
    send: (msg: unknown) =>
      new Promise<void>((resolve, reject) => {
        if (ended) return reject(new Error("stream closed"));
        if (ws.bufferedAmount > limits.maxSendBufferBytes) {
          refuse(1008, "the client does not read its messages");
          return reject(new Error("stream closed: the client does not read its messages"));
        }
        ws.send(JSON.stringify(msg), (err) => (err ? reject(err) : resolve()));
      }),
    close: async () => ws.close(1000),
    recv: async (): Promise<unknown> => {
      const bytes = await next();
      if (!bytes) throw new Error("stream closed");
      return parse(bytes);
    },
    async *[Symbol.asyncIterator]() {
      for (let bytes = await next(); bytes; bytes = await next()) yield parse(bytes);
    },
  };

  try {
    const result = await (endpoint.manifest.request ? handler!(handshake, stream) : handler!(stream));
    if (kind === "streamIn" && result !== undefined && !ended) await stream.send(result);
  } catch (err) {
    if (!ended) log.warn(err, "stream handler failed", { endpoint: `${endpoint.manifest.service}.${endpoint.manifest.name}` });
  } finally {
    if (!ended) ws.close(1000);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    // A client that ignores the close handshake still loses its socket.
    if (ws.readyState !== ws.CLOSED) ws.terminate();
  }
}
