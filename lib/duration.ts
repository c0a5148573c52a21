/**
 * Parses an Encore `DurationString` ("500ms", "10s", "1m30s", "1h 5m") into milliseconds.
 * Throws a RangeError naming the problem for anything else.
 */
export function parseDuration(input: string): number {
  const units: Record<string, number> = { ns: 1e-6, "µs": 1e-3, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const text = input.replace(/\s+/g, "");
  const part = /(\d+(?:\.\d+)?)(ns|µs|us|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    part.lastIndex = index;
    const match = part.exec(text);
    if (!match) throw new RangeError(`invalid duration "${input}": expected e.g. "500ms", "10s", "1m30s" or "1h"`);
    total += Number(match[1]) * units[match[2]];
    index = part.lastIndex;
  }
  if (index === 0) throw new RangeError(`invalid duration "${input}": it is empty`);
  return total;
}
