/**
 * The dashboard's build and dev server. The build goes to dashboard/dist, which the `dashboard`
 * Encore service serves at the API's origin; the dev server proxies the API to the Node host.
 *
 *   npm run dev:frontend     http://localhost:5173, /api → CACHET_API_URL (default http://localhost:4000)
 *   npm run build:frontend   dashboard/dist
 */
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const apiUrl = process.env.CACHET_API_URL ?? "http://localhost:4000";

export default defineConfig({
  root: here("./"),
  plugins: [react(), tailwindcss()],
  build: {
    outDir: here("../dashboard/dist"),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    port: 5173,
    proxy: {
      "/api": { target: apiUrl, changeOrigin: true, ws: true },
      "/metrics": { target: apiUrl, changeOrigin: true },
    },
  },
});
