# durable-jobs worker and API image (one image, two commands; see docker-compose.temporal.yml).
#   docker build -t durable-jobs .
#   docker run --rm -e TEMPORAL_ADDRESS=… durable-jobs            # worker
#   docker run --rm -p 3000:3000 … durable-jobs api               # API

# 1. Production dependencies only.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 2. The build: the worker and API compiled to JavaScript and the workflow bundle, so processes
#    start without tsx or webpack (src/start/runtime-build.ts). Copied as a plain folder.
FROM deps AS build
COPY tsconfig.json ./
COPY src ./src
RUN node --import tsx src/start/build-main.ts && cp -rL dist/current /app/build

# 3. Runtime: the build, production node_modules, the sources (for the `durable-jobs` CLI); runs as the unprivileged `node` user.
FROM node:20-bookworm-slim
# git: publishing builds clone their sources; ca-certificates: https remotes.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY --from=build /app/build ./dist/current
COPY docker-entrypoint.sh /usr/local/bin/durable-jobs
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
ENTRYPOINT ["durable-jobs"]
CMD ["worker"]
