import { useCallback, useMemo } from "react";
import { useSearchParams } from "react-router-dom";
import { readState, writeState, type Schema, type StateOf } from "./url-state";

/**
 * A view's state in the URL's search params (see url-state.ts). `set` pushes a history entry;
 * pass `{ replace: true }` for typing-speed changes (search boxes) so Back stays useful.
 */
export function useUrlState<S extends Schema>(schema: S) {
  const [params, setParams] = useSearchParams();
  const state = useMemo(() => readState(schema, params), [schema, params]);
  const set = useCallback(
    (patch: Partial<StateOf<S>>, options: { replace?: boolean } = {}) =>
      setParams((current) => writeState(schema, current, patch), { replace: options.replace }),
    [schema, setParams],
  );
  return [state, set] as const;
}
