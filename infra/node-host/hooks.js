// Node module-resolution hook: `encore.dev`, `encore.dev/*` and `~encore/*` resolve to the Node
// host's implementations (see aliases.js). Everything else resolves as usual.
import { resolveAlias } from "./aliases.js";

export async function resolve(specifier, context, nextResolve) {
  const target = resolveAlias(specifier);
  if (target) return { url: target.href, shortCircuit: true };
  return nextResolve(specifier, context);
}
