import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from './provision-cli';
import { stopChild } from './dev-server';
import packageJson from '../../package.json';

// Runs one of our entry points, compiled (src/start/runtime-build.ts), as a child process and tracks its exit.

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(graceMs: number): Promise<void>;
}

/**
 * V8 flags for worker processes. A capped main heap makes V8 collect garbage before RSS
 * balloons: a bulk-conversion benchmark peaked at ~390-460 MB RSS uncapped and ~320 MB
 * with the cap, at the same speed. The cap is package.json's `config.workerHeapMb`, which
 * `npm run worker` and the container entrypoint read too.
 */
export const WORKER_NODE_ARGS = [`--max-old-space-size=${packageJson.config.workerHeapMb}`];

/**
 * Environment for worker processes: `env` with glibc's malloc arenas capped (MALLOC_ARENA_MAX,
 * unless `env` sets it). Each thread that mallocs (V8's GC and compiler helpers, workflow and
 * conversion threads, Temporal core's runtime) otherwise gets an arena of its own, up to 8 per
 * core, and keeps its freed memory: capped at `config.workerMallocArenas`, the bulk benchmark
 * used ~20 MB less RSS at ready and ~30 MB less at peak at the same CPU per URL. `npm run
 * worker` and the container entrypoint read the same package.json value.
 */
export function workerEnv<E extends NodeJS.ProcessEnv>(env: E): E {
  return { ...env, MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX || packageJson.config.workerMallocArenas };
}

/** `file` is a compiled entry point (`builtEntry`); the working directory is the project's, as for `npm run`. */
export function spawnEntryPoint(name: string, file: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): ManagedProcess {
  const child = spawn(process.execPath, [...nodeArgs, file], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  return { name, child, exited, stop: (graceMs) => stopChild(child, exited, graceMs) };
}

/**
 * A small process that outlives the supervisor: every pid handed to `watch` is stopped when the
 * supervisor dies without stopping it (its stdin pipe closes with the supervisor).
 */
export function startReaper(): { watch(pid: number | undefined): void } {
  const reaper = spawn(process.execPath, [path.join(__dirname, 'reaper.cjs')], { stdio: ['pipe', 'ignore', 'inherit'], detached: true });
  reaper.unref();
  const pipe = reaper.stdin!;
  pipe.on('error', () => undefined);
  return {
    watch(pid) {
      if (pid) pipe.write(`${pid}\n`);
    },
  };
}

export async function waitForHttpOk(url: string, timeoutMs: number, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`a process exited while waiting for ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} not ready after ${timeoutMs / 1000}s: ${last}`);
}
