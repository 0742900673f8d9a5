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

/** An entry point the supervisor starts again when it dies; `child` is the process running now. */
export interface SupervisedProcess {
  name: string;
  readonly child: ChildProcess;
  stop(graceMs: number): Promise<void>;
}

/** Restarts allowed within `RESTART_WINDOW_MS` before the supervisor gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 5 * 60_000;
/** A process that exits with an error code sooner than this after its start failed to start: restarting will not help. */
const MIN_UPTIME_MS = 10_000;

export interface SuperviseOptions {
  name: string;
  file: string;
  env: NodeJS.ProcessEnv;
  nodeArgs?: string[];
  say(message: string): void;
  /** Each process started, the first one included. */
  onStart(child: ChildProcess): void;
  /** The process cannot be kept running (it failed at startup, or died too often). */
  onGiveUp(reason: string): void;
}

/**
 * Runs an entry point and starts it again, after 1, 2, 4… s, when it dies on its own: killed
 * by a signal (SIGKILL, the OOM killer, a crash) or exiting with an error after it was up. Jobs
 * go on: Temporal hands the dead worker's tasks to the new one. A clean exit, an exit during
 * startup, or more than `MAX_RESTARTS` deaths in `RESTART_WINDOW_MS` give up instead.
 */
export function superviseEntryPoint(o: SuperviseOptions): SupervisedProcess {
  let current: ManagedProcess;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  const deaths: number[] = [];

  const start = () => {
    const startedAt = Date.now();
    current = spawnEntryPoint(o.name, o.file, o.env, o.nodeArgs);
    o.onStart(current.child);
    const { child } = current;
    void current.exited.then((code) => {
      if (stopping) return;
      const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with ${code}`;
      if (!child.signalCode && (code === 0 || Date.now() - startedAt < MIN_UPTIME_MS)) return o.onGiveUp(`${o.name} ${how}`);
      const now = Date.now();
      deaths.push(now);
      while (deaths[0] < now - RESTART_WINDOW_MS) deaths.shift();
      if (deaths.length > MAX_RESTARTS)
        return o.onGiveUp(`${o.name} ${how}, its ${deaths.length}th death in ${RESTART_WINDOW_MS / 60_000} minutes`);
      const delayMs = 1000 * 2 ** (deaths.length - 1);
      o.say(
        `${o.name} ${how}; starting it again in ${delayMs / 1000} s (restart ${deaths.length} of ${MAX_RESTARTS} allowed in ${RESTART_WINDOW_MS / 60_000} minutes)`,
      );
      restartTimer = setTimeout(() => {
        if (stopping) return;
        start();
        o.say(`${o.name} started again: pid ${current.child.pid}`);
      }, delayMs);
    });
  };
  start();
  return {
    name: o.name,
    get child() {
      return current.child;
    },
    async stop(graceMs) {
      stopping = true;
      clearTimeout(restartTimer);
      await current.stop(graceMs);
    },
  };
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
