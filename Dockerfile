# The service in a container: Node 24 slim, production dependencies only (from the lock file),
# run as the image's unprivileged `node` user. `docker compose up` (compose.yaml) runs it in
# service mode with PostgreSQL and Redis.

# Dependencies, in a stage of their own so that the runtime image has no npm cache. Optional
# dependencies are left out: the only one is the pinned Node binary, which the base image has.
FROM node:24-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY migrations ./migrations
COPY src ./src
# Embedded mode's data directory (unused in service mode), writable by the user the service runs as.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
# Ready: the database answers and the process is not shutting down (GET /readyz).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is the container's first process and gets SIGTERM itself, so `docker stop`
# runs the graceful shutdown (SHUTDOWN_TIMEOUT_MS, 10 s; Docker waits 10 s before SIGKILL).
STOPSIGNAL SIGTERM
CMD ["node", "src/main.ts"]
