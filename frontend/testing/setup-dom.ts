/**
 * Vitest setup for every test file. Only the component tests (`// @vitest-environment jsdom`)
 * have a document: they get Testing Library's cleanup after each test (it registers itself only
 * when Vitest's globals are on, which they are not here) and a fresh localStorage. Node tests
 * (unit, e2e) are left as they are.
 */
import { afterEach, vi } from "vitest";

if (typeof document !== "undefined") {
  // Testing Library drains React's work with a setTimeout(0) that it advances itself only when it
  // sees Jest's fake timers (`jest.advanceTimersByTime`); without this, user-event and waitFor
  // hang under `vi.useFakeTimers()`. With real timers it is never called.
  Object.assign(globalThis, { jest: { advanceTimersByTime: (ms: number) => vi.advanceTimersByTime(ms) } });
  const { cleanup } = await import("@testing-library/react");
  afterEach(() => {
    cleanup();
    localStorage.clear();
  });
}
