// Loaded with `node --import ./infra/node-host/register.js`: TypeScript support (tsx) and the
// module mapping that makes `encore.dev/*` and `~encore/*` resolve to the Node host.
import { register } from "node:module";
import { register as registerTsx } from "tsx/esm/api";

registerTsx();
// Registered last, so it runs first: it rewrites the specifier, tsx then loads the .ts file.
register("./hooks.js", import.meta.url);
