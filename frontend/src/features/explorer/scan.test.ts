import { describe, expect, test } from "vitest";
import type { KeyPage } from "../../api/cache";
import { collectAll, collectPage } from "./scan";

const key = (k: string) => ({ key: k, tiers: ["l2" as const], ttlMs: 1000, sizeBytes: 10, tags: [] });

/** A fake SCAN: fixed pages by cursor, recording each call. */
function fakeScan(pages: Record<string, KeyPage>) {
  const calls: string[] = [];
  const list = async (_match: string, cursor: string) => {
    calls.push(cursor);
    return pages[cursor];
  };
  return { list, calls };
}

describe("explorer paging over SCAN", () => {
  test("keeps scanning through sparse pages until it has a page's worth, de-duplicating", async () => {
    const { list, calls } = fakeScan({
      "0": { keys: [key("a")], cursor: "5", scanned: 100 },
      "5": { keys: [], cursor: "9", scanned: 100 },
      "9": { keys: [key("a"), key("b"), key("c")], cursor: "12", scanned: 100 },
      "12": { keys: [key("d")], cursor: "0", scanned: 100 },
    });
    const page = await collectPage(list, "*", "0", 3, 20, () => 42);
    expect(page.keys.map((k) => k.key)).toEqual(["a", "b", "c"]);
    expect(page).toMatchObject({ cursor: "12", scanned: 300, calls: 3, fetchedAt: 42 });
    expect(calls).toEqual(["0", "5", "9"]);
  });

  test("stops at the end of the scan, and after maxCalls on a pattern that matches nothing", async () => {
    const done = fakeScan({ "0": { keys: [key("a")], cursor: "0", scanned: 3 } });
    expect(await collectPage(done.list, "*", "0", 50)).toMatchObject({ cursor: "0", calls: 1 });
    const empty = async (_m: string, cursor: string) => ({ keys: [], cursor: String(Number(cursor) + 1), scanned: 1000 });
    const page = await collectPage(empty, "nothing:*", "0", 50, 4);
    expect(page).toMatchObject({ keys: [], cursor: "4", calls: 4 });
  });

  test("export collects every key up to its limit", async () => {
    const { list } = fakeScan({
      "0": { keys: [key("a"), key("b")], cursor: "1", scanned: 2 },
      "1": { keys: [key("c")], cursor: "0", scanned: 1 },
    });
    expect(await collectAll(list, "*", 10)).toMatchObject({ complete: true, keys: [{ key: "a" }, { key: "b" }, { key: "c" }] });
    expect((await collectAll(list, "*", 2)).complete).toBe(false);
  });
});
