import { describe, expect, test } from "vitest";
import { CoherenceArgumentError } from "./errors.ts";
import { KeyVersions } from "./versions.ts";
import { seededRandom as prng } from "../../../lib/random.ts";

/** The obvious, unbounded model: a log of every invalidation and clear. */
class NaiveVersions {
  private readonly log: (string | null)[] = []; // null = clear

  snapshot(): number {
    return this.log.length;
  }

  unchanged(key: string, token: number): boolean {
    for (let i = token; i < this.log.length; i++) if (this.log[i] === null || this.log[i] === key) return false;
    return true;
  }

  invalidate(key: string): void {
    this.log.push(key);
  }

  clear(): void {
    this.log.push(null);
  }
}

describe("KeyVersions", () => {
  test("a key untouched since the snapshot is unchanged", () => {
    const versions = new KeyVersions({ maxKeys: 10 });
    versions.invalidate("a");
    const token = versions.snapshot("a");
    expect(versions.unchanged("a", token)).toBe(true);
  });

  test("an invalidation of the key after the snapshot makes it changed", () => {
    const versions = new KeyVersions({ maxKeys: 10 });
    const token = versions.snapshot("a");
    versions.invalidate("a");
    expect(versions.unchanged("a", token)).toBe(false);
    expect(versions.unchanged("a", versions.snapshot("a"))).toBe(true);
  });

  test("invalidating other keys leaves the key unchanged", () => {
    const versions = new KeyVersions({ maxKeys: 10 });
    const token = versions.snapshot("a");
    versions.invalidateMany(["b", "c"]);
    expect(versions.unchanged("a", token)).toBe(true);
    expect(versions.unchanged("b", token)).toBe(false);
  });

  test("a global clear makes every earlier snapshot changed, and later ones unchanged", () => {
    const versions = new KeyVersions({ maxKeys: 10 });
    const before = versions.snapshot("a");
    versions.clear();
    const after = versions.snapshot("a");
    expect(versions.unchanged("a", before)).toBe(false);
    expect(versions.unchanged("never-seen", before)).toBe(false);
    expect(versions.unchanged("a", after)).toBe(true);
    expect(versions.stats()).toMatchObject({ size: 0, clears: 1 });
  });

  test("re-invalidating a key keeps it from being the eviction victim", () => {
    const versions = new KeyVersions({ maxKeys: 2 });
    versions.invalidate("a");
    versions.invalidate("b");
    versions.invalidate("a"); // a is now the newest
    const token = versions.snapshot();
    versions.invalidate("c"); // evicts b, not a
    expect(versions.stats()).toMatchObject({ size: 2, evictions: 1 });
    expect(versions.unchanged("a", token)).toBe(true);
    expect(versions.unchanged("c", token)).toBe(false);
  });

  test("evicting at the cap raises the floor: older snapshots are refused, never wrongly accepted", () => {
    const versions = new KeyVersions({ maxKeys: 3 });
    const old = versions.snapshot("x");
    versions.invalidate("x"); // x changed after `old`
    const recent = versions.snapshot("y");
    versions.invalidateMany(["p", "q", "r"]); // x is evicted: its change is forgotten
    expect(versions.stats()).toMatchObject({ size: 3, evictions: 1 });
    expect(versions.unchanged("x", old)).toBe(false); // the floor covers the forgotten change
    expect(versions.unchanged("y", recent)).toBe(true); // x's eviction does not refuse newer tokens
    versions.invalidate("s"); // evicts p, invalidated after `recent`
    expect(versions.unchanged("y", recent)).toBe(false); // a false "changed" is allowed
    expect(versions.stats().size).toBe(3);
  });

  test.each([[0], [-1], [1.5], [Number.NaN]])("refuses maxKeys = %s", (maxKeys) => {
    expect(() => new KeyVersions({ maxKeys })).toThrow(CoherenceArgumentError);
  });

  test.each([
    ["roomy (never evicts)", 1, 10_000],
    ["tight (evicts constantly)", 2, 8],
    ["medium", 3, 40],
  ])("agrees with a naive model under random operations: %s", (_label, seed, maxKeys) => {
    const random = prng(seed);
    const versions = new KeyVersions({ maxKeys });
    const naive = new NaiveVersions();
    const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
    const pick = () => keys[Math.floor(random() * keys.length)];
    const open: { key: string; token: number; naiveToken: number; evictionsAt: number }[] = [];
    let falseChanged = 0;
    let accepted = 0;
    let checks = 0;

    for (let step = 0; step < 20_000; step++) {
      const roll = random();
      if (roll < 0.4) {
        const key = pick();
        versions.invalidate(key);
        naive.invalidate(key);
      } else if (roll < 0.41) {
        versions.clear();
        naive.clear();
      } else if (roll < 0.7) {
        const key = pick();
        open.push({ key, token: versions.snapshot(key), naiveToken: naive.snapshot(), evictionsAt: versions.stats().evictions });
      } else if (open.length > 0) {
        const { key, token, naiveToken, evictionsAt } = open.splice(Math.floor(random() * open.length), 1)[0];
        const ours = versions.unchanged(key, token);
        const truth = naive.unchanged(key, naiveToken);
        checks++;
        if (ours) accepted++;
        // Never a false "unchanged".
        if (ours) expect(truth).toBe(true);
        // A false "changed" only when the cap forced an eviction since the snapshot.
        if (!ours && truth) {
          falseChanged++;
          expect(versions.stats().evictions).toBeGreaterThan(evictionsAt);
        }
      }
      expect(versions.stats().size).toBeLessThanOrEqual(maxKeys);
    }
    expect(checks).toBeGreaterThan(1_000);
    expect(accepted).toBeGreaterThan(0); // not trivially refusing everything
    if (maxKeys >= keys.length) expect(falseChanged).toBe(0);
    else expect(falseChanged).toBeGreaterThan(0); // the cap was actually exercised
  });
});
