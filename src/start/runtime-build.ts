import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { bundleWorkflows } from '../worker/workers';
import { PROJECT_ROOT } from './provision-cli';

// The worker and the API run as JavaScript compiled from these sources, not through tsx. In a
// worker, tsx's loader thread, its transform caches and its source maps cost 20–50 MB of RSS
// (bulk benchmark, alternating runs: peak 312–345 MB through tsx, 281–312 MB compiled) and
// webpack, when the worker bundles its workflows itself, ~25 MB more. A build is a folder
// named by a hash of everything it is made from, so an unchanged tree reuses it, concurrent
// builds never write into each other, and a running process never sees its files change.

/** Builds kept besides the newest: processes started from them may still read their files. */
const KEPT_OLDER_BUILDS = 2;
/** A build's temporary folder this old was left by a process that died while building. */
const ABANDONED_AFTER_MS = 10 * 60_000;

export interface RuntimeBuild {
  dir: string;
  /** Whether this call compiled it (false: an identical build was there). */
  built: boolean;
  workflowBundlePath: string;
}

/** The compiled file of a source entry point, e.g. `src/worker/main.ts` → `<dir>/src/worker/main.js`. */
export function builtEntry(b: Pick<RuntimeBuild, 'dir'>, source: string): string {
  return path.join(b.dir, source.replace(/\.ts$/, '.js'));
}

export interface BuildOptions {
  /** The project: its `src/`, package.json and package-lock.json; the build goes to its `dist/`. */
  root?: string;
  /** Makes the workflow bundle (the worker's `bundleWorkflows` unless given). */
  bundleWorkflows?: () => Promise<string>;
}

/**
 * Compiles `src/` and bundles the workflows into `dist/<hash>/`, unless that build exists, and
 * points `dist/current` (what `docker-entrypoint.sh` runs) at it.
 */
export async function buildRuntime(o: BuildOptions = {}): Promise<RuntimeBuild> {
  const root = o.root ?? PROJECT_ROOT;
  const buildsDir = path.join(root, 'dist');
  const sources = listFiles(path.join(root, 'src'));
  const key = buildKey(root, sources);
  const dir = path.join(buildsDir, key);
  const runtime = (built: boolean): RuntimeBuild => ({ dir, built, workflowBundlePath: path.join(dir, 'workflow-bundle.js') });
  if (fs.existsSync(dir)) {
    const now = new Date();
    fs.utimesSync(dir, now, now); // in use again: the newest, for pruning
    pointCurrentAt(buildsDir, key);
    return runtime(false);
  }
  fs.mkdirSync(buildsDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(buildsDir, '.building-'));
  try {
    await compile(root, sources, tmp);
    fs.writeFileSync(path.join(tmp, 'workflow-bundle.js'), await (o.bundleWorkflows ?? bundleWorkflows)());
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      // A concurrent build of the same tree got there first: its files are the same.
      if (!fs.existsSync(dir)) throw e;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  pointCurrentAt(buildsDir, key);
  pruneOlderBuilds(buildsDir, key);
  return runtime(true);
}

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Sources, package.json, the dependency lock and the compiler's settings: what the output depends on. */
function buildKey(root: string, sources: string[]): string {
  const hash = createHash('sha256');
  const project = ['package.json', 'package-lock.json', 'tsconfig.json'].map((f) => path.join(root, f)).filter((f) => fs.existsSync(f));
  for (const file of [...sources, ...project]) {
    hash.update(path.relative(root, file)).update('\0');
    hash.update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** One JavaScript file per source, in the same layout, so `__dirname` and relative paths hold. */
async function compile(root: string, sources: string[], outDir: string): Promise<void> {
  const src = path.join(root, 'src');
  const ts = sources.filter((f) => f.endsWith('.ts'));
  await build({
    entryPoints: ts,
    outdir: path.join(outDir, 'src'),
    outbase: src,
    bundle: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    logLevel: 'silent',
  });
  for (const file of sources.filter((f) => !f.endsWith('.ts'))) {
    const to = path.join(outDir, 'src', path.relative(src, file));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(file, to);
  }
  // Sources import ../../package.json (the worker's heap cap, the version).
  fs.copyFileSync(path.join(root, 'package.json'), path.join(outDir, 'package.json'));
}

/** Swaps the `current` symlink in one rename, so a reader sees the old build or the new one. */
function pointCurrentAt(buildsDir: string, key: string): void {
  const link = path.join(buildsDir, `.current-${process.pid}`);
  fs.rmSync(link, { force: true });
  fs.symlinkSync(key, link);
  fs.renameSync(link, path.join(buildsDir, 'current'));
}

function pruneOlderBuilds(buildsDir: string, newest: string): void {
  const entries = fs.readdirSync(buildsDir, { withFileTypes: true }).map((e) => ({
    name: e.name,
    build: e.isDirectory() && /^[0-9a-f]{16}$/.test(e.name) && e.name !== newest,
    leftover: /^\.(building|current)-/.test(e.name),
    mtime: fs.lstatSync(path.join(buildsDir, e.name)).mtimeMs,
  }));
  const older = entries.filter((e) => e.build).sort((a, b) => b.mtime - a.mtime);
  const abandoned = entries.filter((e) => e.leftover && Date.now() - e.mtime > ABANDONED_AFTER_MS);
  for (const old of [...older.slice(KEPT_OLDER_BUILDS), ...abandoned])
    fs.rmSync(path.join(buildsDir, old.name), { recursive: true, force: true });
}
