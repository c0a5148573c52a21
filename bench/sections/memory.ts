/**
 * Section 7: memory. An L1 bounded by bytes, filled past its bound with ~1 KiB values stored the
 * way `TieredCache` fills L1 (an envelope, sized by its serialized length), then RSS growth over
 * the bytes the L1 accounts for: what a cached byte costs the process.
 * Runs in a child process with `--expose-gc`: `memory.ts --child <mode>`.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { encodeEnvelope, type Envelope } from "../../cache-manager/core/envelope.ts";
import { L1Cache } from "../../cache-manager/core/l1/cache.ts";
import { childMain, runChild } from "../lib/child.ts";
import type { Mode, SectionResult } from "../lib/report.ts";
import { bytes } from "../lib/stats.ts";

const MiB = 1024 * 1024;
const SETTINGS: Record<Mode, { boundBytes: number; fillFactor: number; valueBytes: number }> = {
  tiny: { boundBytes: 16 * MiB, fillFactor: 1.5, valueBytes: 1024 },
  quick: { boundBytes: 64 * MiB, fillFactor: 1.5, valueBytes: 1024 },
  full: { boundBytes: 256 * MiB, fillFactor: 1.5, valueBytes: 1024 },
};

interface MemoryFigures {
  boundBytes: number;
  insertedBytes: number;
  cachedBytes: number;
  entries: number;
  evictions: number;
  rssBefore: number;
  rssAfter: number;
  heapAfter: number;
  rssPerCachedByte: number;
  heapPerCachedByte: number;
}

function measure(mode: Mode): MemoryFigures {
  const settings = SETTINGS[mode];
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  const collect = () => {
    gc();
    gc();
  };
  const l1 = new L1Cache<Envelope>({ maxEntries: 50_000_000, maxBytes: settings.boundBytes, policy: "w-tinylfu" });
  collect();
  const rssBefore = process.memoryUsage().rss;
  let inserted = 0;
  const target = settings.boundBytes * settings.fillFactor;
  const now = Date.now();
  for (let i = 0; inserted < target; i++) {
    // Unique contents: a shared string would understate what real values cost.
    const envelope: Envelope = { v: { id: i, body: randomBytes((settings.valueBytes * 3) / 4).toString("base64") }, f: now + 3_600_000 };
    const sizeBytes = Buffer.byteLength(encodeEnvelope(envelope));
    l1.set(`mem:${i}`, envelope, { sizeBytes, ttlMs: 3_600_000 });
    inserted += sizeBytes;
  }
  collect();
  const usage = process.memoryUsage();
  const stats = l1.stats();
  return {
    boundBytes: settings.boundBytes,
    insertedBytes: inserted,
    cachedBytes: stats.bytes,
    entries: stats.entries,
    evictions: stats.evictions,
    rssBefore,
    rssAfter: usage.rss,
    heapAfter: usage.heapUsed,
    rssPerCachedByte: (usage.rss - rssBefore) / stats.bytes,
    heapPerCachedByte: usage.heapUsed / stats.bytes,
  };
}

export async function runMemory(mode: Mode): Promise<Omit<SectionResult, "seconds">> {
  const settings = SETTINGS[mode];
  const f = await runChild<MemoryFigures>(fileURLToPath(import.meta.url), ["--child", mode], { nodeArgs: ["--expose-gc", "--max-old-space-size=4096"] });
  return {
    id: "memory",
    title: "7. Memory: RSS per cached byte",
    tables: [
      {
        header: ["L1 bound", "inserted", "cached (accounted)", "entries", "evictions", "RSS growth", "RSS per cached byte"],
        rows: [
          [
            bytes(f.boundBytes),
            bytes(f.insertedBytes),
            bytes(f.cachedBytes),
            f.entries.toLocaleString("en"),
            f.evictions.toLocaleString("en"),
            bytes(f.rssAfter - f.rssBefore),
            f.rssPerCachedByte.toFixed(2),
          ],
        ],
      },
    ],
    notes: [
      `W-TinyLFU L1 bounded at ${bytes(settings.boundBytes)}${mode === "full" ? "" : ` (${mode} mode; the full run uses 256 MiB)`}, filled with ${settings.fillFactor}× its bound of ~${settings.valueBytes}-byte unique JSON values (envelopes sized by their serialized length, as the tiered cache fills L1). RSS measured after two full GCs, in a fresh process.`,
      "Accounted bytes are the serialized (UTF-8 JSON) sizes; a value held as JS objects costs more than its JSON, so RSS per cached byte above 1 is the overhead of the in-memory representation plus the cache's own structures.",
    ],
    data: { settings, ...f },
  };
}

if (process.argv[2] === "--child") void childMain(async () => measure(process.argv[3] as Mode));
