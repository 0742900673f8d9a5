#!/bin/sh
# `durable-jobs worker|api|schedules`. exec replaces the shell: node becomes PID 1 and gets
# `docker stop`'s SIGTERM itself, which starts the graceful shutdown of the worker and the API.
# The worker's heap cap is package.json's config.workerHeapMb (npm start and npm run worker read it too).
set -eu
case "${1:-worker}" in
  worker) exec node --max-old-space-size="$(node -p 'require("./package.json").config.workerHeapMb')" --import tsx src/worker/main.ts ;;
  api) exec node --import tsx src/api/main.ts ;;
  schedules) exec node --import tsx src/worker/schedules-main.ts ;;
  *) exec "$@" ;;
esac
