/**
 * Display formatting shared by every page: byte sizes, TTLs, durations, counts, relative times,
 * and CSV cells. Pure functions, unit-tested in format.test.ts.
 */

const BYTE_UNITS = ["B", "KB", "MB", "GB", "TB"];

/** 0 → "0 B", 1536 → "1.5 KB", 5_000_000 → "4.8 MB" (binary multiples, one decimal when small). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 || value >= 10 ? Math.round(value) : Math.round(value * 10) / 10} ${BYTE_UNITS[unit]}`;
}

const TTL_UNITS: Array<[string, number]> = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["min", 60_000],
  ["s", 1_000],
];

/**
 * A TTL the way a key list shows it: "No limit" for none (negative), "expired" at 0, else its
 * largest unit and the next one: 90_061_000 → "1 d 1 h", 61_000 → "1 min 1 s", 4_200 → "4 s".
 */
export function formatTtl(ms: number): string {
  if (ms < 0) return "No limit";
  if (ms < 1_000) return ms <= 0 ? "expired" : "< 1 s";
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of TTL_UNITS) {
    if (parts.length === 0 && rest < size) continue;
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (parts.length > 0 && n === 0) break;
    parts.push(`${n} ${unit}`);
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** Remaining TTL now, given the TTL reported at `observedAt` (ms epoch); negative TTLs stay as they are. */
export function ttlNow(ttlMs: number, observedAt: number, now: number): number {
  if (ttlMs < 0) return ttlMs;
  return Math.max(0, ttlMs - (now - observedAt));
}

/** Milliseconds for people: 0.0421 → "42 µs", 12.34 → "12.3 ms", 1234 → "1.23 s", 65_000 → "1 min 5 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 100) return `${Math.round(ms * 10) / 10} ms`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 10) / 100} s`;
  return formatTtl(ms);
}

/** 1234567 → "1,234,567"; fractions keep up to `digits` decimals. */
export function formatNumber(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return "—";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits });
}

/** 0.8731 → "87.3%". */
export function formatPercent(ratio: number): string {
  if (!Number.isFinite(ratio)) return "—";
  return `${Math.round(ratio * 1000) / 10}%`;
}

/** "just now", "12 s ago", "3 min ago", "2 h ago" for a time `ms` before `now`. */
export function formatAgo(then: number, now: number): string {
  const s = Math.max(0, Math.floor((now - then) / 1000));
  if (s < 2) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break. */
export function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : Array.isArray(value) ? value.join(" ") : String(value);
  // A leading =, +, - or @ would be a formula in a spreadsheet: neutralise it.
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Rows of cells → CSV text with a header line. */
export function toCsv(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

/** Pretty-prints JSON text; text that is not JSON (e.g. a truncated preview) is returned as is. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
