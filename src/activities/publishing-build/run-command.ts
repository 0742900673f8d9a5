import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { liveGroupMembers, signalGroup, waitGroupGone } from './process-group';

// Runs a build command with /bin/sh in a new process group: scrubbed environment (the caller
// passes the whole env), a timeout, cancellation, an output cap, and lines handed over as they
// come. Stopping sends SIGTERM to the group and SIGKILL after the grace period; when the command
// ends, whatever it left running in its group is killed too, so nothing outlives the build.

const MAX_LINE_CHARS = 4_000;

export interface RunCommandOptions {
  command: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** Output bytes kept; past this, lines are dropped (the command still runs). */
  maxOutputBytes: number;
  signal?: AbortSignal;
  onLine(line: string): void;
  onSpawn?(pid: number): void;
}

export interface RunCommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  truncated: boolean;
  pid: number;
  /** Members of the group still running after the last SIGKILL (should be none). */
  leftRunning: number[];
}

export function runCommand(o: RunCommandOptions): Promise<RunCommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', o.command], { cwd: o.cwd, env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', reject);
      return;
    }
    o.onSpawn?.(pid);
    let timedOut = false;
    let cancelled = false;
    let stopping = false;
    let truncated = false;
    let bytes = 0;
    let killTimer: NodeJS.Timeout | undefined;

    const emit = (line: string) => {
      if (truncated) return;
      bytes += Buffer.byteLength(line) + 1;
      if (bytes > o.maxOutputBytes) {
        truncated = true;
        o.onLine(`[output truncated: the build printed more than ${o.maxOutputBytes} bytes; the rest is not kept]`);
        return;
      }
      for (let i = 0; i < line.length || i === 0; i += MAX_LINE_CHARS) o.onLine(line.slice(i, i + MAX_LINE_CHARS));
    };
    const closed = [child.stdout!, child.stderr!].map((s) => splitLines(s, emit));

    const stop = () => {
      if (stopping) return;
      stopping = true;
      signalGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), o.killGraceMs);
    };
    const timeout = setTimeout(() => {
      timedOut = true;
      stop();
    }, o.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort, { once: true });

    child.once('error', reject);
    child.once('exit', (exitCode, signal) => {
      void (async () => {
        clearTimeout(timeout);
        o.signal?.removeEventListener('abort', onAbort);
        // The shell is gone; anything it left in its group goes with it.
        if (liveGroupMembers(pid).length) {
          if (stopping && killTimer) {
            // Give the rest of the group its grace period, then SIGKILL.
            if (!(await waitGroupGone(pid, o.killGraceMs))) signalGroup(pid, 'SIGKILL');
          } else signalGroup(pid, 'SIGKILL');
        }
        clearTimeout(killTimer);
        await waitGroupGone(pid, 5_000);
        await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 2_000))]);
        resolve({ exitCode, signal, timedOut, cancelled, truncated, pid, leftRunning: liveGroupMembers(pid) });
      })().catch(reject);
    });
  });
}

function splitLines(stream: Readable, emit: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        emit(rest.slice(0, nl).replace(/\r$/, ''));
        rest = rest.slice(nl + 1);
      }
      // A very long line without a newline is emitted in pieces rather than held.
      while (rest.length > MAX_LINE_CHARS) {
        emit(rest.slice(0, MAX_LINE_CHARS));
        rest = rest.slice(MAX_LINE_CHARS);
      }
    });
    stream.once('close', () => {
      if (rest) emit(rest);
      resolve();
    });
  });
}
