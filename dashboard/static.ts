/**
 * The admin dashboard (frontend/, built into ./dist by `npm run build:frontend`), served at the
 * same origin as the API. `/!path` is Encore's fallback route: every path no API endpoint claims,
 * so `/explorer?match=...` deep links load the app, whose router reads the rest from the URL.
 */
import { api } from "encore.dev/api";

export const dashboard = api.static({
  expose: true,
  path: "/!path",
  dir: "./dist",
  notFound: "./dist/index.html",
  notFoundStatus: 200,
});
