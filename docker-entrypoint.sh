#!/bin/sh
# `durable-jobs worker|api|schedules`: runs the compiled entry points of dist/current (the
# container's build, or `npm run build`'s latest; `npm run worker|api|schedules` build first).
# exec replaces the shell: node becomes PID 1 and gets `docker stop`'s SIGTERM itself, which
# starts the graceful shutdown of the worker and the API. The worker's heap cap and malloc arena
# cap are package.json's config.workerHeapMb and config.workerMallocArenas (npm start reads them
# too; a set MALLOC_ARENA_MAX wins); its workflow bundle is the build's unless
# WORKFLOW_BUNDLE_PATH is set.
set -eu
build=dist/current
config() { node -p "require('./package.json').config.$1"; }
command="${1:-worker}"
case "$command" in
  worker)
    MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-$(config workerMallocArenas)}"
    WORKFLOW_BUNDLE_PATH="${WORKFLOW_BUNDLE_PATH:-$build/workflow-bundle.js}"
    export MALLOC_ARENA_MAX WORKFLOW_BUNDLE_PATH
    exec node --max-old-space-size="$(config workerHeapMb)" "$build/src/worker/main.js" ;;
  api) exec node "$build/src/api/main.js" ;;
  schedules) exec node "$build/src/worker/schedules-main.js" ;;
  *) exec "$@" ;;
esac
