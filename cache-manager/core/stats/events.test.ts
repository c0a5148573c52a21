import { describe, expect, test } from "vitest";
import { createCacheEvents, TypedEventBus, type CacheEventName } from "./events.ts";

describe("cache events", () => {
  test("delivers each event's typed payload to its listeners, in subscription order", () => {
    const events = createCacheEvents();
    const heard: string[] = [];
    events.on("hit", ({ key, tier }) => heard.push(`first ${key} ${tier}`));
    events.on("hit", ({ tier }) => heard.push(`second ${tier}`));
    events.on("load", ({ ms, ok }) => heard.push(`load ${ms} ${ok}`));
    events.emit("hit", { key: "user:1", tier: "l2" });
    events.emit("load", { key: "user:1", ms: 12.5, ok: true });
    events.emit("miss", { key: "user:2" });
    expect(heard).toEqual(["first user:1 l2", "second l2", "load 12.5 true"]);
  });

  test("has() says whether anyone would hear an event, so payloads are built only when needed", () => {
    const events = createCacheEvents();
    expect(events.has("load")).toBe(false);
    const off = events.on("load", () => {});
    expect(events.has("load")).toBe(true);
    expect(events.has("hit")).toBe(false);
    off();
    expect(events.has("load")).toBe(false);
    const offAny = events.onAny(() => {});
    expect(events.has("hit")).toBe(true);
    offAny();
    expect(events.has("hit")).toBe(false);
  });

  test("unsubscribing is idempotent and removes only that listener", () => {
    const events = createCacheEvents();
    const heard: string[] = [];
    const listener = () => heard.push("shared");
    const offFirst = events.on("set", listener);
    events.on("set", listener);
    offFirst();
    offFirst();
    events.emit("set", { key: "k" });
    expect(heard).toEqual(["shared"]);
  });

  test("once hears only the next emit", () => {
    const events = createCacheEvents();
    const levels: string[] = [];
    events.once("degradation", ({ level }) => levels.push(level));
    events.emit("degradation", { level: "l1-only", from: "normal" });
    events.emit("degradation", { level: "normal", from: "l1-only" });
    expect(levels).toEqual(["l1-only"]);
    expect(events.has("degradation")).toBe(false);
  });

  test("onAny hears every event with its name", () => {
    const events = createCacheEvents();
    const heard: [CacheEventName, unknown][] = [];
    events.onAny((name, payload) => heard.push([name, payload]));
    events.emit("breaker", { name: "l2", state: "open" });
    events.emit("evict", { tier: "l1", reason: "capacity", key: "k" });
    events.emit("stale-served", { key: "k", reason: "soft-timeout" });
    expect(heard).toEqual([
      ["breaker", { name: "l2", state: "open" }],
      ["evict", { tier: "l1", reason: "capacity", key: "k" }],
      ["stale-served", { key: "k", reason: "soft-timeout" }],
    ]);
  });

  test("a throwing listener neither stops the others nor reaches the emitter", () => {
    const reported: [unknown, string][] = [];
    const events = createCacheEvents({ onListenerError: (error, event) => reported.push([error, event]) });
    const heard: string[] = [];
    const bug = new Error("metrics bug");
    events.on("error", () => {
      throw bug;
    });
    events.on("error", ({ type }) => heard.push(type));
    expect(() => events.emit("error", { type: "E_L2_UNAVAILABLE" })).not.toThrow();
    expect(heard).toEqual(["E_L2_UNAVAILABLE"]);
    expect(reported).toEqual([[bug, "error"]]);
    expect(events.listenerErrors).toBe(1);
  });

  test("subscribing or unsubscribing during an emit takes effect from the next emit", () => {
    const events = createCacheEvents();
    const heard: string[] = [];
    let offSecond = () => {};
    events.on("delete", () => {
      heard.push("first");
      offSecond();
      events.on("delete", () => heard.push("added"));
    });
    offSecond = events.on("delete", () => heard.push("second"));
    events.emit("delete", { key: "a" });
    expect(heard).toEqual(["first", "second"]);
    heard.length = 0;
    events.emit("delete", { key: "b" });
    expect(heard).toEqual(["first", "added"]);
  });

  test("emitting with no listener costs next to nothing", () => {
    const events = createCacheEvents();
    const payload = { key: "k", tier: "l1" as const };
    const started = performance.now();
    for (let i = 0; i < 1_000_000; i++) events.emit("hit", payload);
    // About 5 ns an emit on a laptop; the bound only catches an accidental allocation or copy.
    expect(performance.now() - started).toBeLessThan(500);
  });

  test("the bus is generic over any event map", () => {
    const bus = new TypedEventBus<{ tick: { n: number } }>();
    let total = 0;
    bus.on("tick", ({ n }) => (total += n));
    bus.emit("tick", { n: 2 });
    bus.clear();
    bus.emit("tick", { n: 5 });
    expect(total).toBe(2);
  });
});
