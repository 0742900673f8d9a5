import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { activityInfo, CancelledFailure, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../deps';
import type { PublishingBuildConfig } from './config';
import { jobFileKey } from '../../shared/urls';
import {
  BUILD_LOG_FILE,
  BuildProgressReport,
  buildProgressSignal,
  BuiltArtifact,
  PublishingBuildInput,
} from '../../workflows/publishing-build/contract';
import { BuildLog } from './build-log';
import { runCommand } from './run-command';
import { jobWorkspaceDir, prepareWorkspace } from './workspace';

// The build step: a fresh workspace, the platform's build command in its own process group,
// the log streamed to blob storage, the artifact stored with its SHA-256. One activity because
// the three share a workspace on one machine's disk; its attempts (3, backoff from 2 s) each
// start from scratch, on any worker.

export const BUILD_FAILURES = {
  failed: 'BuildFailed',
  timedOut: 'BuildTimedOut',
  artifactMissing: 'BuildArtifactMissing',
  /** The worker shut down and the build outlasted WORKER_SHUTDOWN_GRACE: retried on another worker. */
  interrupted: 'BuildInterruptedByShutdown',
} as const;

/** How the worker names itself to Temporal (the SDK's default identity). */
const WORKER_IDENTITY = `${process.pid}@${os.hostname()}`;

const HEARTBEAT_MS = 2_000;
const REPORT_MS = 5_000;
const TAIL_LINES = 50;

export type BuildArtifactInput = Pick<PublishingBuildInput, 'jobId' | 'projectId' | 'platform' | 'source' | 'version' | 'buildNumber'>;

export function createBuildActivities(deps: ActivityDeps<PublishingBuildConfig>) {
  const { config, store } = deps;
  const workspaceRoot = path.resolve(config.BUILD_WORKSPACE_DIR ?? path.join(config.dataDir, 'workspaces'));

  /** The environment a build sees: nothing of the worker's but PATH and what BUILD_ENV_PASS names. */
  const buildEnv = (input: BuildArtifactInput, home: string, tmp: string): Record<string, string> => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: home,
      TMPDIR: tmp,
      LANG: 'C.UTF-8',
      CI: 'true',
      APP_VERSION: input.version,
      BUILD_NUMBER: String(input.buildNumber),
      BUILD_PLATFORM: input.platform,
      PROJECT_ID: input.projectId,
    };
    for (const name of config.BUILD_ENV_PASS) if (process.env[name] !== undefined) env[name] = process.env[name]!;
    return env;
  };

  return {
    async buildArtifact(input: BuildArtifactInput): Promise<BuiltArtifact> {
      const ctx = Context.current();
      const info = activityInfo();
      const attempt = info.attempt;
      const log = new BuildLog(store, jobFileKey(input.jobId, BUILD_LOG_FILE), config.BUILD_LOG_MAX_BYTES);
      await log.open();
      let phase: BuildProgressReport['phase'] = 'preparing';
      const report = (): BuildProgressReport => ({ attempt, phase, lines: log.lines, lastLine: log.lastLine });
      const tell = () =>
        ctx.client.workflow
          .getHandle(info.workflowExecution?.workflowId ?? input.jobId)
          .signal(buildProgressSignal, report())
          .catch((e: Error) => deps.logger.warn('could not report build progress', { jobId: input.jobId, error: e.message }));
      const beat = setInterval(() => ctx.heartbeat(report()), HEARTBEAT_MS);
      const reports = setInterval(() => void tell(), REPORT_MS);
      const setPhase = (p: BuildProgressReport['phase']) => {
        phase = p;
        ctx.heartbeat(report());
        void tell();
      };
      log.write(
        `=== attempt ${attempt} of the ${input.platform} build ${input.version} (${input.buildNumber}) · ${new Date().toISOString()} ===`,
        true,
      );
      setPhase('preparing');
      try {
        const ws = await prepareWorkspace({
          root: workspaceRoot,
          jobId: input.jobId,
          attempt,
          source: input.source,
          policy: { allowHosts: config.BUILD_GIT_ALLOW_HOSTS, roots: config.BUILD_SOURCE_ROOTS },
          cloneTimeoutMs: config.BUILD_CLONE_TIMEOUT,
          signal: ctx.cancellationSignal,
          log: (line) => log.write(`[prepare] ${line}`, true),
        });
        log.write(`[prepare] workspace ${path.basename(ws.dir)} on worker ${WORKER_IDENTITY}`, true);

        setPhase('building');
        const command = input.platform === 'ios' ? config.BUILD_COMMAND_IOS : config.BUILD_COMMAND_ANDROID;
        log.write(`[build] $ ${command}`, true);
        const result = await runCommand({
          command,
          cwd: ws.src,
          env: buildEnv(input, ws.home, ws.tmp),
          timeoutMs: config.BUILD_TIMEOUT,
          killGraceMs: config.BUILD_KILL_GRACE,
          maxOutputBytes: config.BUILD_LOG_MAX_BYTES,
          signal: ctx.cancellationSignal,
          onLine: (line) => log.write(line),
          onSpawn: (pid) => log.write(`[build] process group ${pid}`, true),
        });
        if (result.leftRunning.length)
          deps.logger.error('build processes survived SIGKILL', { jobId: input.jobId, pids: result.leftRunning });
        if (result.cancelled && ctx.cancellationDetails?.workerShutdown) {
          // Past the shutdown grace period: a failed (not cancelled) attempt, so the server
          // retries it at once on another worker, from a fresh workspace.
          const message = `the worker ${WORKER_IDENTITY} shut down and the build outlasted WORKER_SHUTDOWN_GRACE: process group ${result.pid} stopped; the build is retried on another worker`;
          log.write(`[build] ${message}`, true);
          throw ApplicationFailure.create({ type: BUILD_FAILURES.interrupted, message, details: [{ attempt }] });
        }
        if (result.cancelled) {
          log.write(`[build] cancelled: process group ${result.pid} stopped`, true);
          throw ctx.cancellationSignal.reason instanceof Error ? ctx.cancellationSignal.reason : new CancelledFailure('build cancelled');
        }
        if (result.timedOut) {
          log.write(`[build] timed out after ${config.BUILD_TIMEOUT / 1000} s: process group ${result.pid} killed`, true);
          throw ApplicationFailure.create({
            type: BUILD_FAILURES.timedOut,
            message: `the build did not finish within ${config.BUILD_TIMEOUT / 1000} s and was killed; last lines:\n${log.tail(TAIL_LINES).join('\n')}`,
            nonRetryable: true,
          });
        }
        if (result.exitCode !== 0) {
          const how = result.exitCode === null ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
          log.write(`[build] ${command} ${how}`, true);
          throw ApplicationFailure.create({
            type: BUILD_FAILURES.failed,
            message: `the build ${how} (attempt ${attempt}); last lines:\n${log.tail(TAIL_LINES).join('\n')}`,
            details: [{ attempt, exitCode: result.exitCode, tail: log.tail(TAIL_LINES) }],
          });
        }

        setPhase('uploading');
        const artifactPath = await findArtifact(path.join(ws.src, 'dist'), input.platform === 'ios' ? '.ipa' : '.aab');
        const file = `artifacts/${path.basename(artifactPath)}`;
        const sha256 = await hashFile(artifactPath);
        const stored = await store.put(jobFileKey(input.jobId, file), fs.createReadStream(artifactPath), {
          contentType: 'application/octet-stream',
        });
        log.write(`[build] stored ${file} (${stored.bytes} bytes, sha256 ${sha256})`, true);
        return { file, bytes: stored.bytes, sha256, commit: ws.commit, logLines: log.lines };
      } finally {
        clearInterval(beat);
        clearInterval(reports);
        await log.close().catch((e: Error) => deps.logger.warn('could not write the build log', { jobId: input.jobId, error: e.message }));
        await fs.promises.rm(jobWorkspaceDir(workspaceRoot, input.jobId), { recursive: true, force: true }).catch(() => undefined);
      }
    },
  };
}

async function findArtifact(dist: string, ext: '.ipa' | '.aab'): Promise<string> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number) => {
    const entries = await fs.promises.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && depth < 4) await walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith(ext)) found.push(p);
    }
  };
  await walk(dist, 0);
  if (found.length !== 1) {
    throw ApplicationFailure.create({
      type: BUILD_FAILURES.artifactMissing,
      message: found.length
        ? `the build left ${found.length} ${ext} files under dist/ (${found.map((f) => path.relative(dist, f)).join(', ')}); exactly one is expected`
        : `the build left no ${ext} file under dist/`,
      nonRetryable: true,
    });
  }
  return found[0];
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    fs.createReadStream(file)
      .on('data', (c) => hash.update(c))
      .once('end', () => resolve(hash.digest('hex')))
      .once('error', reject);
  });
}
