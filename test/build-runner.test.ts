import os from 'node:os';
import { runCommand } from '../src/activities/publishing-build/run-command';
import { liveGroupMembers } from '../src/activities/publishing-build/process-group';
import { processRunning } from './fixtures/publishing-jobs';

// The build runner on its own: real /bin/sh commands in their own process group.

const run = (command: string, extra: Partial<Parameters<typeof runCommand>[0]> = {}) => {
  const lines: string[] = [];
  return runCommand({
    command,
    cwd: os.tmpdir(),
    env: { PATH: process.env.PATH! },
    timeoutMs: 10_000,
    killGraceMs: 500,
    maxOutputBytes: 1_000_000,
    onLine: (l) => lines.push(l),
    ...extra,
  }).then((r) => ({ ...r, lines }));
};

test('stdout and stderr arrive as lines; the exit code is reported; the environment is only what was passed', async () => {
  const r = await run('echo one; echo two >&2; printf "no newline"; echo " HOME=${HOME:-unset}"; exit 3');
  expect(r.exitCode).toBe(3);
  expect(r.lines).toEqual(expect.arrayContaining(['one', 'two', 'no newline HOME=unset']));
});

test('whatever a successful build leaves running in its group is killed when it ends', async () => {
  const r = await run('sleep 300 & echo started $!');
  expect(r.exitCode).toBe(0);
  const pid = Number(/started (\d+)/.exec(r.lines.join('\n'))![1]);
  expect(r.leftRunning).toEqual([]);
  expect(liveGroupMembers(r.pid)).toEqual([]);
  expect(processRunning(pid)).toBe(false); // killed (a zombie until something reaps it, or gone)
});

test('a process that ignores SIGTERM is SIGKILLed after the grace period on timeout', async () => {
  const started = Date.now();
  const r = await run(`trap '' TERM; echo ready; while true; do sleep 0.1; done`, { timeoutMs: 300 });
  expect(r.timedOut).toBe(true);
  expect(Date.now() - started).toBeGreaterThanOrEqual(700);
  expect(r.leftRunning).toEqual([]);
});

test('cancellation stops the group; output past the cap is dropped with a note and the command still finishes', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  const cancelled = await run('sleep 30', { signal: ac.signal });
  expect(cancelled).toMatchObject({ cancelled: true, leftRunning: [] });

  const capped = await run('for i in $(seq 1 2000); do echo line-$i; done; echo end', { maxOutputBytes: 2_000 });
  expect(capped.exitCode).toBe(0);
  expect(capped.truncated).toBe(true);
  expect(capped.lines[capped.lines.length - 1]).toMatch(/output truncated: the build printed more than 2000 bytes/);
  expect(capped.lines.join('\n').length).toBeLessThan(2_200);
});
