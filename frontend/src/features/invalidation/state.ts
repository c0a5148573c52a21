/** The Invalidation Console's URL state and the helpers its two tabs share. */
import type { useUrlState } from "../../lib/use-url-state";
import { oneOf, text } from "../../lib/url-state";

export const invalidationSchema = {
  tab: oneOf(["invalidate", "audit"], "invalidate"),
  mode: oneOf(["keys", "pattern", "tags"], "pattern"),
  target: text(""),
  actor: text(""),
  kind: text(""),
  status: text(""),
  from: text(""),
  to: text(""),
  cursor: text(""),
};

export type ConsoleState = ReturnType<typeof useUrlState<typeof invalidationSchema>>[0];
export type SetConsoleState = ReturnType<typeof useUrlState<typeof invalidationSchema>>[1];

export const TEMPLATES = [
  { label: "One product", pattern: "product:42" },
  { label: "All products", pattern: "product:*" },
  { label: "A user's keys", pattern: "user:123:*" },
  { label: "Sessions", pattern: "session:*" },
  { label: "Everything", pattern: "*" },
];

/** The keys or tags typed in the box (whitespace or comma separated, distinct). */
export function splitList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}
