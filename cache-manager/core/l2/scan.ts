/**
 * Keyspace walks over every node: paged listing with one opaque cursor, SCAN + UNLINK
 * deletion, and bounded counting. All of them use SCAN with MATCH on the escaped prefix (never
 * KEYS), talk to each node directly, and report a key only from the node that `owns` it, so a
 * ring's replicas are listed and counted once. Listing and counting leave out keys that hold only
 * a fill's lease marker (`fence.ts`): they are no cached value.
 *
 * SCAN's own guarantee carries over: a key present for the whole walk is returned; a key added
 * or removed meanwhile may or may not be; and a node's SCAN may repeat a key while it rehashes.
 */
import { runScript } from "../../../lib/redis.ts";
import { L2ArgumentError, L2CursorError, L2UnavailableError } from "./errors.ts";
import { enqueueHoldsValue, holdsValueOf, HOLDS_VALUE_LUA } from "./fence.ts";
import type { KeySpace } from "./pattern.ts";
import type { ScanPlan, ScanTarget } from "./routing.ts";
import type { L2CountOptions, L2CountResult, L2DeleteMatchingOptions, L2DeleteMatchingResult, L2ScanOptions, L2ScanPage } from "./types.ts";

/** Round trips one `scan()` page may spend when matches are sparse; the page may come back short. */
const MAX_ROUND_TRIPS_PER_PAGE = 32;
const COUNT_SCAN_BATCH = 1000;

type OnNodeError = (node: string, error: unknown) => void;

function boundedInt(value: number | undefined, fallback: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new L2ArgumentError(`${name} must be an integer from 1 to ${max}`);
  return value;
}

// --- cursor: "<fingerprint>.<node index>.<node cursor>", base64url so callers treat it as opaque

export function encodeCursor(fingerprint: string, node: number, nodeCursor: string): string {
  return Buffer.from(`${fingerprint}.${node}.${nodeCursor}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string | undefined, fingerprint: string): { node: number; nodeCursor: string } {
  if (cursor === undefined || cursor === "" || cursor === "0") return { node: 0, nodeCursor: "0" };
  const parts = Buffer.from(cursor, "base64url").toString("utf8").split(".");
  if (parts.length !== 3 || !/^\d+$/.test(parts[1]) || !/^\d+$/.test(parts[2]))
    throw new L2CursorError("scan cursor is malformed; start again without a cursor");
  if (parts[0] !== fingerprint) throw new L2CursorError("the nodes changed since this scan started; start again without a cursor");
  return { node: Number(parts[1]), nodeCursor: parts[2] };
}

async function scanOnce(target: ScanTarget, cursor: string, match: string, count: number, onError: OnNodeError): Promise<[string, string[]]> {
  try {
    return await target.client.scan(cursor, "MATCH", match, "COUNT", count);
  } catch (error) {
    onError(target.id, error);
    throw L2UnavailableError.from(error, `SCAN on ${target.id} failed`);
  }
}

/**
 * A SCAN page run inside Redis that replies only the keys holding a value, not only a fill's
 * marker (`fence.ts`): SCAN from ARGV[1] with MATCH ARGV[2] and COUNT ARGV[3]; replies `{next
 * cursor, keys}`. Markers never travel, and the check costs no round trip of its own.
 */
const SCAN_VALUES_SCRIPT = `${HOLDS_VALUE_LUA}
local reply = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local keys = {}
for _, key in ipairs(reply[2]) do
  if holdsValue(key) then keys[#keys + 1] = key end
end
return {reply[1], keys}`;

/**
 * One SCAN batch on `target`: its next cursor and the keys it found that `target` reports and
 * that hold a value. One script call on a plain Redis server; on a Cluster node (a script may not
 * name keys of several slots) SCAN, then one pipeline of two commands per key it owns.
 */
async function scanValues(target: ScanTarget, cursor: string, match: string, count: number, onError: OnNodeError): Promise<[string, string[]]> {
  if (target.multiKey) {
    try {
      const [next, keys] = (await runScript(target.client, SCAN_VALUES_SCRIPT, [], [cursor, match, count])) as [string, string[]];
      return [next, keys.filter((key) => target.owns(key))];
    } catch (error) {
      onError(target.id, error);
      throw L2UnavailableError.from(error, `SCAN on ${target.id} failed`);
    }
  }
  const [next, found] = await scanOnce(target, cursor, match, count, onError);
  const owned = found.filter((key) => target.owns(key));
  if (owned.length === 0) return [next, owned];
  const pipeline = target.client.pipeline();
  for (const key of owned) enqueueHoldsValue(pipeline, key);
  let replies: Array<[Error | null, unknown]>;
  try {
    replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error)?.[0];
    if (failed || replies.length < 2 * owned.length) throw failed ?? new Error("pipeline was discarded");
  } catch (error) {
    onError(target.id, error);
    throw L2UnavailableError.from(error, `reading keys on ${target.id} failed`);
  }
  return [next, owned.filter((_, i) => holdsValueOf([replies[2 * i][1], replies[2 * i + 1][1]]))];
}

/** One page of logical keys; see `L2Store.scan`. */
export async function scanPage(plan: ScanPlan, keyspace: KeySpace, options: L2ScanOptions, onError: OnNodeError): Promise<L2ScanPage> {
  const match = keyspace.valuePattern(options.match ?? "*");
  const count = boundedInt(options.count, 100, 10_000, "count");
  let { node, nodeCursor } = decodeCursor(options.cursor, plan.fingerprint);
  const keys: string[] = [];
  for (let trips = 0; node < plan.targets.length && keys.length < count && trips < MAX_ROUND_TRIPS_PER_PAGE;) {
    const target = plan.targets[node];
    if (!target.available) {
      node++;
      nodeCursor = "0";
      continue;
    }
    const [next, found] = await scanValues(target, nodeCursor, match, count, onError);
    trips++;
    for (const key of found) keys.push(keyspace.logicalKey(key));
    if (next === "0") {
      node++;
      nodeCursor = "0";
    } else {
      nodeCursor = next;
    }
  }
  const done = node >= plan.targets.length;
  return { keys, cursor: done ? "0" : encodeCursor(plan.fingerprint, node, nodeCursor), done };
}

/** SCAN + UNLINK on every available node concurrently; see `L2Store.deleteMatching`. */
export async function deleteMatching(
  plan: ScanPlan,
  keyspace: KeySpace,
  pattern: string,
  options: L2DeleteMatchingOptions,
  onError: OnNodeError,
): Promise<L2DeleteMatchingResult> {
  const match = keyspace.valuePattern(pattern);
  const batchSize = boundedInt(options.batchSize, 500, 10_000, "batchSize");
  const scannedByNode = new Map<string, number>();
  const total: L2DeleteMatchingResult = { deleted: 0, scanned: 0 };

  const drain = async (target: ScanTarget) => {
    const size = await target.client.dbsize().catch(() => 0);
    const pages = target.deletesOnServer ? pagesDeletedOnServer(target, match, batchSize, onError) : pagesDeletedByClient(target, match, batchSize, onError);
    let trips = 0;
    for (;;) {
      if (options.signal?.aborted) return;
      const { value: page, done } = await pages.next();
      if (done) return;
      trips++;
      total.deleted += page.deleted;
      scannedByNode.set(target.id, page.last ? size : Math.min(trips * batchSize, size));
      total.scanned = [...scannedByNode.values()].reduce((a, b) => a + b, 0);
      options.onProgress?.({ ...total });
    }
  };

  await Promise.all(plan.targets.filter((t) => t.available).map(drain));
  return total;
}

/**
 * Lua: `unlinkCountingValues(keys)` UNLINKs the keys (in slices: Lua's unpack is limited to a few
 * thousand values) and returns how many held a value, not only a fill's marker (`fence.ts`).
 */
const UNLINK_COUNTING_VALUES_LUA = `${HOLDS_VALUE_LUA}
local function unlinkCountingValues(keys)
  local deleted = 0
  for _, key in ipairs(keys) do
    if holdsValue(key) then deleted = deleted + 1 end
  end
  for first = 1, #keys, 1000 do
    redis.call('UNLINK', unpack(keys, first, math.min(first + 999, #keys)))
  end
  return deleted
end`;

/** One SCAN page of a pattern delete: how many keys it removed, and whether the node is done. */
interface DeletedPage {
  deleted: number;
  last: boolean;
}

/**
 * SCAN pages whose keys the client UNLINKs; the next page is requested while this one is
 * unlinked, so the two round trips overlap.
 */
async function* pagesDeletedByClient(target: ScanTarget, match: string, batchSize: number, onError: OnNodeError): AsyncGenerator<DeletedPage> {
  const scan = (from: string) => {
    const page = scanOnce(target, from, match, batchSize, onError);
    page.catch(() => undefined); // awaited below; this only keeps an abandoned page from being unhandled
    return page;
  };
  let page = scan("0");
  for (;;) {
    const [cursor, found] = await page;
    if (cursor !== "0") page = scan(cursor);
    yield { deleted: found.length > 0 ? await unlinkOn(target, found, onError) : 0, last: cursor === "0" };
    if (cursor === "0") return;
  }
}

/**
 * A page of a pattern delete run inside Redis: SCAN from ARGV[1] with MATCH ARGV[2] and COUNT
 * ARGV[3], then UNLINK what it found. Replies `{next cursor, keys removed that held a value}` (a
 * fill's marker is removed too, uncounted, as `countMatching` leaves it out). It does the work of one SCAN and one UNLINK
 * of the client-side path, so one call blocks the server about as long as those two commands
 * together (about a millisecond per 500 keys), but the keys never travel: no reply to encode, no
 * keys to parse on the client or to parse back on the server, and no idle round trip between the
 * two commands.
 */
const DELETE_PAGE_SCRIPT = `${UNLINK_COUNTING_VALUES_LUA}
local reply = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
return {reply[1], unlinkCountingValues(reply[2])}
`;

async function* pagesDeletedOnServer(target: ScanTarget, match: string, batchSize: number, onError: OnNodeError): AsyncGenerator<DeletedPage> {
  let cursor = "0";
  do {
    let reply: [string, number];
    try {
      reply = (await runScript(target.client, DELETE_PAGE_SCRIPT, [], [cursor, match, batchSize])) as [string, number];
    } catch (error) {
      onError(target.id, error);
      throw L2UnavailableError.from(error, `SCAN + UNLINK on ${target.id} failed`);
    }
    cursor = reply[0];
    yield { deleted: reply[1], last: cursor === "0" };
  } while (cursor !== "0");
}

/** UNLINKs `redisKeys` on one node; counts the ones it owned. */
async function unlinkOn(target: ScanTarget, redisKeys: readonly string[], onError: OnNodeError): Promise<number> {
  if (target.multiKey) return unlinkTogether(target, redisKeys, onError);
  const pipeline = target.client.pipeline();
  // One UNLINK per key: on a Cluster node, keys of different slots may not share a command. Each
  // follows its key's value check, so a fill's marker is removed but not counted.
  for (const key of redisKeys) {
    enqueueHoldsValue(pipeline, key);
    pipeline.unlink(key);
  }
  let replies: Array<[Error | null, unknown]> | null;
  try {
    replies = await pipeline.exec();
  } catch (error) {
    onError(target.id, error);
    throw L2UnavailableError.from(error, `UNLINK on ${target.id} failed`);
  }
  let deleted = 0;
  redisKeys.forEach((key, i) => {
    const three = replies?.slice(3 * i, 3 * i + 3) ?? [];
    const error = three.length < 3 ? new Error("no reply") : three.find(([e]) => e)?.[0];
    if (error) {
      onError(target.id, error);
      throw L2UnavailableError.from(error, `UNLINK on ${target.id} failed`);
    }
    if (holdsValueOf([three[0][1], three[1][1]]) && target.owns(key)) deleted++;
  });
  return deleted;
}

/** KEYS: keys to UNLINK; replies how many of them held a value (not only a fill's marker). */
const UNLINK_COUNTING_VALUES_SCRIPT = `${UNLINK_COUNTING_VALUES_LUA}
return unlinkCountingValues(KEYS)`;

/**
 * UNLINKs `redisKeys` on a plain Redis server with one script for the keys it owns and one
 * command for the others (a ring's replicas), instead of a command per key: the deleted count
 * (keys that held a value) comes from the first. Far cheaper on both sides for the large batches
 * of a pattern deletion.
 */
async function unlinkTogether(target: ScanTarget, redisKeys: readonly string[], onError: OnNodeError): Promise<number> {
  const owned: string[] = [];
  const others: string[] = [];
  for (const key of redisKeys) (target.owns(key) ? owned : others).push(key);
  try {
    const [deleted] = await Promise.all([
      owned.length ? (runScript(target.client, UNLINK_COUNTING_VALUES_SCRIPT, owned, []) as Promise<number>) : 0,
      others.length ? target.client.unlink(...others) : 0,
    ]);
    return deleted;
  } catch (error) {
    onError(target.id, error);
    throw L2UnavailableError.from(error, `UNLINK on ${target.id} failed`);
  }
}

/** One SCAN batch of a count: the node's next cursor, how many keys held a value, and up to `want` of them. */
interface CountedPage {
  cursor: string;
  count: number;
  sample: string[];
}

/**
 * A page of a count run inside Redis: SCAN from ARGV[1] with MATCH ARGV[2] and COUNT ARGV[3],
 * counting the keys that hold a value (not a marker); replies `{next cursor, count, up to ARGV[4]
 * of those keys}`. Only for a server that owns every key found on it (single mode): the keys
 * never travel, which makes the marker check cheaper than the client-side SCAN alone.
 */
const COUNT_PAGE_SCRIPT = `${HOLDS_VALUE_LUA}
local reply = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local want = tonumber(ARGV[4])
local count, sample = 0, {}
for _, key in ipairs(reply[2]) do
  if holdsValue(key) then
    count = count + 1
    if #sample < want then sample[#sample + 1] = key end
  end
end
return {reply[1], count, sample}`;

async function countPage(target: ScanTarget, cursor: string, match: string, want: number, onError: OnNodeError): Promise<CountedPage> {
  if (!target.deletesOnServer) {
    const [next, held] = await scanValues(target, cursor, match, COUNT_SCAN_BATCH, onError);
    return { cursor: next, count: held.length, sample: held.slice(0, Math.max(0, want)) };
  }
  try {
    const [next, count, sample] = (await runScript(target.client, COUNT_PAGE_SCRIPT, [], [cursor, match, COUNT_SCAN_BATCH, Math.max(0, want)])) as [
      string,
      number,
      string[],
    ];
    return { cursor: next, count, sample };
  } catch (error) {
    onError(target.id, error);
    throw L2UnavailableError.from(error, `SCAN on ${target.id} failed`);
  }
}

/** Keys a count examines at most unless told otherwise: bounds the work of one preview. */
const DEFAULT_MAX_COUNT_SCANNED = 1_000_000;

/** Counts matches node by node until `limit` or `maxScanned`; see `L2Store.countMatching`. */
export async function countMatching(
  plan: ScanPlan,
  keyspace: KeySpace,
  pattern: string,
  options: L2CountOptions,
  onError: OnNodeError,
): Promise<L2CountResult> {
  const match = keyspace.valuePattern(pattern);
  const limit = boundedInt(options.limit, 10_000, Number.MAX_SAFE_INTEGER, "limit");
  const sampleSize = options.sampleSize ?? 20;
  const maxScanned = boundedInt(options.maxScanned, DEFAULT_MAX_COUNT_SCANNED, Number.MAX_SAFE_INTEGER, "maxScanned");
  let budget = maxScanned;
  const targets = plan.targets.filter((t) => t.available);
  const sizes = await Promise.all(targets.map((t) => t.client.dbsize().catch(() => 0)));
  const result: L2CountResult = { count: 0, exact: true, sample: [], scanned: 0, total: sizes.reduce((a, b) => a + b, 0) };

  for (const [n, target] of targets.entries()) {
    let cursor = "0";
    let trips = 0;
    do {
      const page = await countPage(target, cursor, match, sampleSize - result.sample.length, onError);
      cursor = page.cursor;
      trips++;
      budget -= COUNT_SCAN_BATCH;
      result.count += page.count;
      for (const key of page.sample) result.sample.push(keyspace.logicalKey(key));
    } while (cursor !== "0" && result.count < limit && budget > 0);
    result.scanned += cursor === "0" ? sizes[n] : Math.min(trips * COUNT_SCAN_BATCH, sizes[n]);
    if (cursor !== "0" || (result.count >= limit && n < targets.length - 1)) {
      result.exact = false;
      break;
    }
  }
  return result;
}
