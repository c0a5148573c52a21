# syntax=docker/dockerfile:1
# The Cachet platform as one image: every service, or the ones named at start with --services=.
#
#   docker build -t cachet .
#   docker run --rm -p 4000:4000 -e REDIS_URL=redis://:pw@redis:6379 \
#     -e DATABASE_URL=postgres://cachet:pw@postgres:5432/cachet -e CACHE_ADMIN_TOKEN=... \
#     -e CACHET_INTERNAL_SECRET=... cachet --services=cache-manager
#
# The image runs the Node host (infra/node-host/README.md), not Encore's runtime; for Encore's own
# image use `encore build docker` (README, "Deploy").

# --- build: dev dependencies, the dashboard, the manifest and the generated ~encore modules ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# dashboard/public/assets (Vite), then .cachet/manifest.json and .cachet/gen/clients.ts, so the runtime
# starts from the manifest cached here instead of re-reading the sources.
RUN npm run build:frontend && npm run gen

# --- runtime: production dependencies only, non-root ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=4000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/cache-manager ./cache-manager
COPY --from=build /app/invalidation ./invalidation
COPY --from=build /app/warming ./warming
COPY --from=build /app/monitoring ./monitoring
COPY --from=build /app/dashboard ./dashboard
COPY --from=build /app/lib ./lib
COPY --from=build /app/infra/node-host ./infra/node-host
COPY --from=build /app/encore.app /app/tsconfig.json ./
COPY --from=build --chown=node:node /app/.cachet ./.cachet
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "--import", "./infra/node-host/register.js", "infra/node-host/main.ts"]
CMD []
