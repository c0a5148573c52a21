// Loaded with `node --import ./infra/node-host/register.js`: TypeScript support (tsx) and the
// module mapping that makes `encore.dev/*` and `~encore/*` resolve to the Node host.
import * as module from "node:module";
import { register as registerTsx } from "tsx/esm/api";
import { resolveAlias } from "./aliases.js";

registerTsx();
if (typeof module.registerHooks === "function") {
  // Node ≥ 22.15 / 23.5: an in-thread hook, which runs before tsx's. Through the off-thread chain
  // below, Node 24 let tsx resolve `~encore/*` by tsconfig `paths` first (to the Encore CLI's
  // declarations in encore.gen/), so the host's modules were never reached.
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const target = resolveAlias(specifier);
      return nextResolve(target ? target.href : specifier, context);
    },
  });
} else {
  // Registered last, so it runs first: it rewrites the specifier, tsx then loads the .ts file.
  module.register("./hooks.js", import.meta.url);
}
