#!/usr/bin/env node
// The `durable-jobs` command: the TypeScript CLI run through tsx (a short-lived command needs no
// build; the long-running worker and API run compiled, see src/start/runtime-build.ts).
require('tsx/cjs/api').register();
require('../src/cli/main.ts').main();
