/**
 * The dashboard's build and dev server. The build goes to dashboard/public/assets under fixed
 * names (app.js, app.css), which the committed shell dashboard/public/index.html loads; the
 * `dashboard` Encore service serves dashboard/public at the API's origin. The dev server uses
 * frontend/index.html and proxies the API to the Node host.
 *
 *   npm run dev:frontend     http://localhost:5173, /api → CACHET_API_URL (default http://localhost:4000)
 *   npm run build:frontend   dashboard/public/assets
 */
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const apiUrl = process.env.CACHET_API_URL ?? "http://localhost:4000";

export default defineConfig(({ command }) => ({
  root: here("./"),
  plugins: [react(), tailwindcss()],
  // Built files are served from /assets/ (dashboard/public/assets).
  base: command === "build" ? "/assets/" : "/",
  build: {
    outDir: here("../dashboard/public/assets"),
    assetsDir: "",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    cssCodeSplit: false,
    rollupOptions: {
      // A script entry, not index.html: the shell is committed (dashboard/public/index.html).
      input: here("./src/main.tsx"),
      output: {
        entryFileNames: "app.js",
        chunkFileNames: "[name]-[hash].js",
        assetFileNames: (asset) => (asset.names.some((n) => n.endsWith(".css")) ? "app.css" : "[name]-[hash][extname]"),
      },
    },
  },
  server: {
    port: 5173,
    proxy: {
      "/api": { target: apiUrl, changeOrigin: true, ws: true },
      "/metrics": { target: apiUrl, changeOrigin: true },
    },
  },
}));
