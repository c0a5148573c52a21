/**
 * The admin dashboard (frontend/, built into ./dist by `npm run build:frontend`), served at the
 * same origin as the API. `/!path` is Encore's fallback route: every path no API endpoint claims,
 * so `/explorer?match=...` deep links load the app, whose router reads the rest from the URL.
 *
 * Security headers: the app loads only its own scripts (no inline script: the theme bootstrap is
 * /theme.js), styles may be inline (charts set them), it talks only to its own origin (the API and
 * the live WebSocket), and no other site may frame it (clickjacking).
 */
import { api } from "encore.dev/api";

export const dashboard = api.static({
  expose: true,
  path: "/!path",
  dir: "./dist",
  notFound: "./dist/index.html",
  notFoundStatus: 200,
  headers: {
    "Content-Security-Policy":
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
  },
});
