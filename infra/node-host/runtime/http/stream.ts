/**
 * Encore's streaming endpoints over WebSocket: every message is one JSON text frame. `streamOut`
 * only sends, `streamIn` only receives (its handler's result is the final message), and
 * `streamInOut` does both. The socket closes when the handler returns.
 */
import type { WebSocket } from "ws";
import log from "../../encore/log.ts";
import type { BoundEndpoint } from "../endpoints.ts";

/** A bounded inbox: a client that floods a slow handler is disconnected, not buffered forever. */
const INBOX_LIMIT = 1000;

export async function serveSocket(ws: WebSocket, endpoint: BoundEndpoint, handshake: Record<string, unknown> | undefined): Promise<void> {
  const { kind, handler } = endpoint.definition;
  const inbox: unknown[] = [];
  const waiters: Array<(msg: IteratorResult<unknown>) => void> = [];
  let ended = false;

  ws.on("message", (data) => {
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      ws.close(1007, "messages must be JSON");
      return;
    }
    const waiter = waiters.shift();
    if (waiter) waiter({ value: msg, done: false });
    else if (inbox.length < INBOX_LIMIT) inbox.push(msg);
    else ws.close(1008, "too many unread messages");
  });
  const closed = new Promise<void>((resolve) =>
    ws.on("close", () => {
      ended = true;
      for (const waiter of waiters.splice(0)) waiter({ value: undefined, done: true });
      resolve();
    }),
  );

  const recv = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (inbox.length) return resolve(inbox.shift());
      if (ended) return reject(new Error("stream closed"));
      waiters.push((result) => (result.done ? reject(new Error("stream closed")) : resolve(result.value)));
    });
  const stream = {
    send: (msg: unknown) =>
      new Promise<void>((resolve, reject) => {
        if (ended) return reject(new Error("stream closed"));
        ws.send(JSON.stringify(msg), (err) => (err ? reject(err) : resolve()));
      }),
    close: async () => ws.close(1000),
    recv,
    async *[Symbol.asyncIterator]() {
      while (true) {
        if (inbox.length) {
          yield inbox.shift();
          continue;
        }
        if (ended) return;
        const next = await new Promise<IteratorResult<unknown>>((resolve) => waiters.push(resolve));
        if (next.done) return;
        yield next.value;
      }
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
  }
}
