/**
 * The admin dashboard, served at the same origin as the API. `./public` is committed (so Encore's
 * parser, which requires the directory and the notFound file to exist, accepts a fresh clone):
 * `index.html` is the app's shell, which loads `/assets/app.js` and `/assets/app.css`, built from
 * frontend/ by `npm run build:frontend` into `./public/assets` (git-ignored). Until then the shell
 * says how to build it.
 *
 * `/!path` is Encore's fallback route: every path no API endpoint claims, so `/explorer?match=...`
 * deep links load the shell, whose router reads the rest from the URL.
 */
import { api } from "encore.dev/api";

export const dashboard = api.static({
  expose: true,
  path: "/!path",
  dir: "./public",
  notFound: "./public/index.html",
  notFoundStatus: 200,
});
