/**
 * A fault-injecting TCP proxy for tests: put it between a process and Redis or PostgreSQL and
 * change what the network does while the process runs.
 *
 * - `pass`: bytes flow both ways, each chunk held back `delayMs` (order kept).
 * - `blackhole`: connections stay open but nothing arrives either way (a partitioned peer).
 * - `refuse`: current connections are reset and new ones are reset on arrival (a dead peer).
 *
 * @example
 * const proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: redis.port } });
 * const host = await startHostProcess({ env: { REDIS_URL: proxy.url("redis") } });
 * proxy.setMode("refuse");            // cut the host off
 * proxy.setMode("pass");              // and let it back
 */
import net from "node:net";

export type FaultMode = "pass" | "blackhole" | "refuse";

export interface FaultProxy {
  port: number;
  url(scheme: string): string;
  readonly mode: FaultMode;
  setMode(mode: FaultMode): void;
  /** Delay added to every chunk in both directions while passing. */
  setDelay(ms: number): void;
  /** Connections currently open through the proxy. */
  connections(): number;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
}

/** Forwards chunks from `from` to `to`, each delayed by the current delay, in order. */
function forward(from: net.Socket, to: net.Socket, state: { mode: FaultMode; delayMs: number }) {
  let lastDue = 0;
  from.on("data", (chunk) => {
    if (state.mode !== "pass") return; // blackholed bytes are lost, as on a partitioned link
    if (state.delayMs <= 0 && lastDue <= Date.now()) return void to.write(chunk);
    const due = Math.max(Date.now() + state.delayMs, lastDue);
    lastDue = due;
    setTimeout(() => to.writable && to.write(chunk), due - Date.now());
  });
}

export async function startFaultProxy(options: { target: { host: string; port: number }; port?: number }): Promise<FaultProxy> {
  const state = { mode: "pass" as FaultMode, delayMs: 0 };
  const pairs = new Set<Pair>();
  const reset = (pair: Pair) => {
    pair.client.resetAndDestroy();
    pair.upstream.destroy();
    pairs.delete(pair);
  };
  const server = net.createServer((client) => {
    if (state.mode === "refuse") return void client.resetAndDestroy();
    const upstream = net.connect(options.target.port, options.target.host);
    const pair = { client, upstream };
    pairs.add(pair);
    forward(client, upstream, state);
    forward(upstream, client, state);
    const close = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    setMode(mode) {
      state.mode = mode;
      if (mode === "refuse") [...pairs].forEach(reset);
    },
    setDelay(ms) {
      state.delayMs = Math.max(0, ms);
    },
    connections: () => pairs.size,
    async close() {
      [...pairs].forEach(reset);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
