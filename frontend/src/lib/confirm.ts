/** When a destructive action needs typed confirmation, and what must be typed. */

/** The dashboard asks for typed confirmation well below the service's threshold. */
export const TYPED_CONFIRM_AT = 100;

export interface ConfirmRule {
  /** Must the user type `phrase` before the action runs? */
  typed: boolean;
  phrase: string;
  /** Must the request carry `confirm: true` (the service would refuse it otherwise)? */
  serverConfirm: boolean;
}

/** True for a pattern that matches every key: `*`, `**`, `*` with only stars. */
export function matchesEverything(pattern: string): boolean {
  return /^\*+$/.test(pattern.trim());
}

/**
 * The rule for invalidating `count` keys (null: unknown) selected by `pattern` (or by keys/tags).
 * A match-all pattern, an unknown or large count all need typing the count (or "everything").
 * `threshold` is the service's own, from its preview answer (`confirmThreshold`), never a copy:
 * above it a pattern request must carry `confirm: true`.
 */
export function confirmRule(count: number | null, pattern?: string, options: { typedAt?: number; threshold?: number } = {}): ConfirmRule {
  const typedAt = options.typedAt ?? TYPED_CONFIRM_AT;
  const { threshold } = options;
  const everything = pattern !== undefined && matchesEverything(pattern);
  if (everything) return { typed: true, phrase: "everything", serverConfirm: true };
  if (count === null) return { typed: true, phrase: "invalidate", serverConfirm: pattern !== undefined };
  return { typed: count >= typedAt, phrase: String(count), serverConfirm: threshold !== undefined && count > threshold };
}

/** True when `typed` is the phrase (surrounding spaces and thousands separators ignored). */
export function confirmationMatches(typed: string, phrase: string): boolean {
  return (
    typed
      .trim()
      .replace(/[,_\s]/g, "")
      .toLowerCase() === phrase.replace(/[,_\s]/g, "").toLowerCase()
  );
}
