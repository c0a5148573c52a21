// Node module-resolution hook: `encore.dev`, `encore.dev/*` and `~encore/*` resolve to the Node
// host's implementations (see aliases.js). Everything else resolves as usual. The rewritten
// specifier still goes down the chain, so tsx resolves (and later loads) the .ts file.
import { resolveAlias } from "./aliases.js";

export async function resolve(specifier, context, nextResolve) {
  const target = resolveAlias(specifier);
  return nextResolve(target ? target.href : specifier, context);
}
