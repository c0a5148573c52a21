/**
 * The API's OpenAPI 3.1 document (dashboard/openapi.gen.ts, written by `npm run gen` from the
 * same types Encore reads), for client generators and API tools.
 */
import { api } from "encore.dev/api";
import { OPENAPI_DOCUMENT } from "./openapi.gen";

const body = JSON.stringify(OPENAPI_DOCUMENT);

export const openapi = api.raw({ expose: true, auth: false, method: "GET", path: "/api/openapi.json" }, (_req, res) => {
  res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=300" });
  res.end(body);
});
