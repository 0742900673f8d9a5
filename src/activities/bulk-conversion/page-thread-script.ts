import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

// Conversion threads load the converter as one prebuilt CommonJS file. Threads start
// without the main thread's TypeScript loader (tsx, or jest's transform), and loading the
// sources through tsx in each thread costs ~1 s of CPU and ~10 MB per thread start (it
// transforms every module and runs its own esbuild service); the prebuilt file starts in
// ~0.2 s, which also matters each time a thread is replaced after a hostile page.

const ENTRY = path.join(__dirname, 'convert-page.ts');

let script: Promise<string> | undefined;

/** Path of the bundled thread script, built once per process; identical builds share one file. */
export function pageThreadScript(): Promise<string> {
  script ??= buildScript().catch((e) => {
    script = undefined;
    throw e;
  });
  return script;
}

async function buildScript(): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  const dir = path.join(os.tmpdir(), 'durable-jobs');
  const file = path.join(dir, `page-thread-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.cjs`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, file);
  }
  return file;
}
