import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { BuildSource, checkSource, isUnder, SourceNotAllowed, SourcePolicy } from './source-policy';

// A fresh workspace per build attempt: <root>/<jobId>/attempt-<n>-<random>/ with the checkout
// in src/ and the build's own HOME and TMPDIR beside it. Sources come from `git clone --depth 1`
// (https on allowed hosts, file:// under the source roots) or a copy of an allowed local path.

export const WORKSPACE_FAILURES = {
  notFound: 'BuildSourceNotFound',
  notAllowed: 'BuildSourceNotAllowed',
  fetchFailed: 'BuildSourceFetchFailed',
} as const;

export interface Workspace {
  dir: string;
  src: string;
  home: string;
  tmp: string;
  /** The commit that was checked out (git sources). */
  commit?: string;
}

export interface PrepareOptions {
  root: string;
  jobId: string;
  attempt: number;
  source: BuildSource;
  policy: SourcePolicy;
  cloneTimeoutMs: number;
  signal?: AbortSignal;
  log(line: string): void;
}

const safeName = (s: string) => s.replace(/[^\w.-]/g, '_').slice(0, 120);

export function jobWorkspaceDir(root: string, jobId: string): string {
  return path.join(root, safeName(jobId));
}

export async function prepareWorkspace(o: PrepareOptions): Promise<Workspace> {
  let checked;
  try {
    checked = checkSource(o.source, o.policy);
  } catch (e) {
    if (e instanceof SourceNotAllowed) throw ApplicationFailure.create({ type: WORKSPACE_FAILURES.notAllowed, message: `${e.field} ${e.message}`, nonRetryable: true });
    throw e;
  }
  // Earlier attempts of this job on this machine leave nothing behind.
  const jobDir = jobWorkspaceDir(o.root, o.jobId);
  await fs.promises.rm(jobDir, { recursive: true, force: true });
  const dir = path.join(jobDir, `attempt-${o.attempt}-${randomBytes(3).toString('hex')}`);
  const ws: Workspace = { dir, src: path.join(dir, 'src'), home: path.join(dir, 'home'), tmp: path.join(dir, 'tmp') };
  await Promise.all([ws.home, ws.tmp].map((d) => fs.promises.mkdir(d, { recursive: true })));

  if (checked.localPath) {
    // Symlinks must not lead outside the roots.
    const real = await fs.promises.realpath(checked.localPath).catch(() => undefined);
    if (!real) throw ApplicationFailure.create({ type: WORKSPACE_FAILURES.notFound, message: `${checked.kind === 'path' ? 'source.path' : 'source.git'} ${checked.localPath} does not exist`, nonRetryable: true });
    if (!o.policy.roots.some((r) => isUnder(r, real))) throw ApplicationFailure.create({ type: WORKSPACE_FAILURES.notAllowed, message: `${checked.localPath} leads outside the source roots`, nonRetryable: true });
  }
  if (checked.kind === 'path') {
    const stat = await fs.promises.stat(checked.localPath);
    if (!stat.isDirectory()) throw ApplicationFailure.create({ type: WORKSPACE_FAILURES.notFound, message: `source.path ${checked.localPath} is not a directory`, nonRetryable: true });
    o.log(`copying ${checked.localPath}`);
    await fs.promises.cp(checked.localPath, ws.src, { recursive: true, verbatimSymlinks: true, filter: (p) => path.basename(p) !== 'node_modules' });
    return ws;
  }

  o.log(`git clone --depth 1${checked.ref ? ` --branch ${checked.ref}` : ''} ${checked.url}`);
  await git(['clone', '--depth', '1', '--quiet', ...(checked.ref ? ['--branch', checked.ref] : []), '--', checked.url, ws.src], ws, checked.url.startsWith('file:') ? 'file' : 'https', o).catch((e: Error & { stderr?: string }) => {
    throw cloneFailure(e, checked.url, checked.ref);
  });
  ws.commit = (await git(['rev-parse', 'HEAD'], ws, 'file', o, ws.src)).trim();
  o.log(`checked out ${ws.commit}`);
  return ws;
}

function git(args: string[], ws: Workspace, protocol: 'https' | 'file', o: PrepareOptions, cwd = ws.dir): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      {
        cwd,
        timeout: o.cloneTimeoutMs,
        killSignal: 'SIGKILL',
        signal: o.signal,
        maxBuffer: 1024 * 1024,
        // No prompts, no system or user config, one protocol only.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: ws.home, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_ALLOW_PROTOCOL: protocol, LANG: 'C' },
      },
      (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr: String(stderr) })) : resolve(String(stdout))),
    );
  });
}

function cloneFailure(e: Error & { stderr?: string; killed?: boolean; code?: unknown }, url: string, ref?: string): Error {
  if (e.name === 'AbortError') return e;
  const stderr = (e.stderr ?? '').trim();
  const said = stderr.split('\n').slice(-3).join(' ').slice(0, 500);
  if (ref && /Remote branch .* not found|couldn't find remote ref|not found in upstream/i.test(stderr)) {
    return ApplicationFailure.create({ type: WORKSPACE_FAILURES.notFound, message: `source.ref "${ref}" does not exist in ${url} (${said})`, nonRetryable: true });
  }
  if (/Repository not found|not found|does not appear to be a git repository|does not exist|not a git repository/i.test(stderr)) {
    return ApplicationFailure.create({ type: WORKSPACE_FAILURES.notFound, message: `source.git repository ${url} was not found (${said})`, nonRetryable: true });
  }
  if (e.killed) return ApplicationFailure.create({ type: WORKSPACE_FAILURES.fetchFailed, message: `git clone of ${url} timed out` });
  return ApplicationFailure.create({ type: WORKSPACE_FAILURES.fetchFailed, message: `git clone of ${url} failed: ${said || e.message}` });
}
