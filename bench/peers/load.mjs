// Imports a package from bench/peers/node_modules: bare specifiers resolve relative to this file,
// so the peers (and their ioredis 5) never mix with the app's dependencies.
export const load = (specifier) => import(specifier);
