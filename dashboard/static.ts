/**
 * The admin dashboard, served at the same origin as the API. `./public` is committed (so Encore's
 * parser, which requires the directory and the notFound file to exist, accepts a fresh clone):
 * `index.html` is the app's shell, which loads `/assets/app.js` and `/assets/app.css`, built from
 * frontend/ by `npm run build:frontend` into `./public/assets` (git-ignored). Until then the shell
 * says how to build it.
 *
 * `/!path` is Encore's fallback route: every path no API endpoint claims, so `/explorer?match=...`
 * deep links load the shell, whose router reads the rest from the URL.
 *
 * Security headers: the app loads only its own scripts (no inline script: the theme bootstrap is
 * ./public/theme.js), styles may be inline (charts set them), it talks only to its own origin (the
 * API and the live WebSocket), and no other site may frame it (clickjacking).
 */
import { api } from "encore.dev/api";

export const dashboard = api.static({
  expose: true,
  path: "/!path",
  dir: "./public",
  notFound: "./public/index.html",
  notFoundStatus: 200,
  headers: {
    "Content-Security-Policy":
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
  },
});
