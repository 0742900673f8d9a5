import path from 'node:path';
import { buildRuntime } from './runtime-build';
import { PROJECT_ROOT } from './provision-cli';

// `npm run build`: compiles the worker and API into dist/<hash>/ (unless that build exists) and
// points dist/current at it; `npm run worker|api|schedules` and the container run dist/current.

async function main(): Promise<void> {
  const t0 = Date.now();
  const b = await buildRuntime();
  const where = path.relative(PROJECT_ROOT, b.dir);
  console.error(`[build] ${b.built ? 'compiled' : 'up to date:'} ${where} (${Date.now() - t0} ms; dist/current points at it)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
