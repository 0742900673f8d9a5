import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, Plugin } from 'esbuild';

// Conversion threads load the converter as one prebuilt CommonJS file. Threads start
// without the main thread's TypeScript loader (tsx, or jest's transform), and loading the
// sources through tsx in each thread costs ~1 s of CPU and ~10 MB per thread start (it
// transforms every module and runs its own esbuild service); the prebuilt file starts in
// ~0.2 s, which also matters each time a thread is replaced after a hostile page.

// The source under tsx and jest, its compiled file in a build (src/start/runtime-build.ts).
const ENTRY = require.resolve('./page-thread');

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
    plugins: [lazyListenerMaps],
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

/**
 * linkedom gives every DOM node a listener map in a WeakMap when it is constructed; the
 * converter never adds a listener, and those entries cost ~15% of a page's conversion plus
 * GC work (WeakMap entries are ephemerons). This makes the map on first addEventListener.
 */
const lazyListenerMaps: Plugin = {
  name: 'linkedom-lazy-listener-maps',
  setup(b) {
    b.onLoad({ filter: /[\\/]linkedom[\\/](esm|cjs)[\\/]interface[\\/]event-target\.js$/ }, async ({ path: file }) => {
      const edits: [string, string][] = [
        ['wm.set(this, new Map);', ''],
        [
          'addEventListener(type, listener, options) {\n    const map = wm.get(this);',
          'addEventListener(type, listener, options) {\n    let map = wm.get(this);\n    if (!map) wm.set(this, (map = new Map));',
        ],
        [
          'removeEventListener(type, listener) {\n    const map = wm.get(this);\n    if (map.has(type)) {',
          'removeEventListener(type, listener) {\n    const map = wm.get(this);\n    if (map && map.has(type)) {',
        ],
      ];
      let contents = await fs.promises.readFile(file, 'utf8');
      for (const [from, to] of edits) {
        // A linkedom release that changed this file fails the build loudly rather than converting slowly.
        if (!contents.includes(from))
          throw new Error(`${file} no longer contains ${JSON.stringify(from)}: update the page-thread bundle's linkedom edit`);
        contents = contents.replace(from, to);
      }
      return { contents, loader: 'js' };
    });
  },
};
