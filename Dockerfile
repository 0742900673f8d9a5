# durable-jobs worker and API image (one image, two commands; see docker-compose.temporal.yml).
#   docker build -t durable-jobs .
#   docker run --rm -e TEMPORAL_ADDRESS=… durable-jobs            # worker
#   docker run --rm -p 3000:3000 … durable-jobs api               # API

# 1. Production dependencies only (tsx runs the TypeScript sources; no compile step).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 2. The workflow bundle, built once here so workers start without webpack.
FROM deps AS bundle
COPY tsconfig.json ./
COPY src ./src
RUN node --import tsx src/worker/bundle-main.ts /app/workflow-bundle.js

# 3. Runtime: sources, production node_modules, the prebuilt bundle; runs as the unprivileged `node` user.
FROM node:20-bookworm-slim
# git: publishing builds clone their sources; ca-certificates: https remotes.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/workflow-bundle.js \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY --from=bundle /app/workflow-bundle.js ./workflow-bundle.js
COPY docker-entrypoint.sh /usr/local/bin/durable-jobs
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
ENTRYPOINT ["durable-jobs"]
CMD ["worker"]
