#!/usr/bin/env node
// The `durable-jobs` command: the TypeScript CLI run through tsx (the project has no build step).
require('tsx/cjs/api').register();
require('../src/cli/main.ts').main();
