#!/bin/sh
# `durable-jobs worker|api|schedules`. exec replaces the shell: node becomes PID 1 and gets
# `docker stop`'s SIGTERM itself, which starts the graceful shutdown of the worker and the API.
set -eu
case "${1:-worker}" in
  worker) exec node --max-old-space-size=384 --import tsx src/worker/main.ts ;;
  api) exec node --import tsx src/api/main.ts ;;
  schedules) exec node --import tsx src/temporal/schedules-main.ts ;;
  *) exec "$@" ;;
esac
