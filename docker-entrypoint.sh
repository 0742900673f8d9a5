#!/bin/sh
# `durable-jobs worker|api|schedules`. exec replaces the shell: node becomes PID 1 and gets
# `docker stop`'s SIGTERM itself, which starts the graceful shutdown of the worker and the API.
# The worker's heap cap and malloc arena cap are package.json's config.workerHeapMb and
# config.workerMallocArenas (npm start and npm run worker read them too; a set MALLOC_ARENA_MAX wins).
set -eu
if [ "${1:-worker}" = worker ]; then
  MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-$(node -p 'require("./package.json").config.workerMallocArenas')}"
  export MALLOC_ARENA_MAX
fi
case "${1:-worker}" in
  worker) exec node --max-old-space-size="$(node -p 'require("./package.json").config.workerHeapMb')" --import tsx src/worker/main.ts ;;
  api) exec node --import tsx src/api/main.ts ;;
  schedules) exec node --import tsx src/worker/schedules-main.ts ;;
  *) exec "$@" ;;
esac
