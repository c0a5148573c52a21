/** The queue's Redis key layout and the parsing of stream replies. */

export interface WriteBehindKeys {
  stream: string;
  values: string;
  versions: string;
  entries: string;
  oldest: string;
  taken: string;
  after: string;
  attempts: string;
  retry: string;
  dead: string;
  counters: string;
}

/** The queue's Redis keys; all share one hash tag, so the scripts also run on Redis Cluster. */
export function writeBehindKeys(streamKey: string): WriteBehindKeys {
  const base = /\{[^}]+\}/.test(streamKey) ? streamKey : `{${streamKey}}`;
  const k = (suffix: string) => `${base}:${suffix}`;
  return {
    stream: base,
    values: k("values"),
    versions: k("versions"),
    entries: k("entries"),
    oldest: k("oldest"),
    taken: k("taken"),
    after: k("after"),
    attempts: k("attempts"),
    retry: k("retry"),
    dead: k("dead"),
    counters: k("counters"),
  };
}

export type StreamEntry = { id: string; key: string | undefined };

/** XREADGROUP / XAUTOCLAIM entry lists: [[id, [field, value, ...] | null], ...]. */
export function parseEntryList(list: unknown): StreamEntry[] {
  if (!Array.isArray(list)) return [];
  return list.map(([id, fields]: [string, string[] | null]) => {
    const at = fields ? fields.indexOf("key") : -1;
    return { id, key: at >= 0 ? fields![at + 1] : undefined };
  });
}

/** XREADGROUP replies: RESP2 `[[stream, entries]]`, or RESP3's map flattened to `[stream, entries]`. */
export function parseReadReply(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  if (typeof reply[0] === "string") return parseEntryList(reply[1]);
  return reply.flatMap((pair: unknown) => (Array.isArray(pair) ? parseEntryList(pair[1]) : []));
}
