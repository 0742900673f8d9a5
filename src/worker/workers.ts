import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, NativeConnection, Worker, WorkflowBundleOption } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { ActivityDeps } from '../activities/deps';
import type { PlatformConfig } from '../config/env';
import { prefixedQueue } from '../shared/task-queues';
import { DesiredSchedule, ensureSchedules, ScheduleSync } from '../temporal/schedules';
import { Registry } from 'prom-client';
import type { QueueDefinition } from './job-definition';
import { replayJobMetricsSinks, WorkerJobMetrics } from './job-metrics';
import { ALL_TASK_QUEUES, JOBS } from './job-registry';
import { workerClassSharingWorkflowThreads } from './shared-workflow-threads';
import { warmUpWorkflows, WorkflowWarmUp } from './workflow-warm-up';

const WORKFLOWS_DIR = path.resolve(__dirname, '..', 'workflows');
/** Bundled with every workflow: reports job starts and ends to the worker's metrics. */
const JOB_END_INTERCEPTOR = require.resolve('../observability/job-end-interceptor');

/**
 * The workflow bundle's entry: every registered job type's `src/workflows/<type>/index.ts`.
 * Written to a file because the bundler takes a path; under node_modules so the bundler
 * resolves the SDK's modules from it.
 */
export function writeWorkflowsEntry(): string {
  const linked = path.resolve(__dirname, '..', '..', 'node_modules', '.cache', 'durable-jobs');
  fs.mkdirSync(linked, { recursive: true });
  // The real path: the bundler resolves symlinks (a worktree's node_modules may be one) and must find the entry where it looks.
  const dir = fs.realpathSync(linked);
  const lines = JOBS.map((j) => `export * from ${JSON.stringify(path.join(WORKFLOWS_DIR, j.type))};`);
  const entry = path.join(dir, `workflows-entry-${process.pid}.ts`);
  fs.writeFileSync(entry, `${lines.join('\n')}\n`);
  return entry;
}

const noop = () => undefined;
const quietBundlerLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => console.error(m) };

/** Bundles every registered workflow into the code Temporal's sandbox runs. */
export async function bundleWorkflows(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: writeWorkflowsEntry(),
    workflowInterceptorModules: [JOB_END_INTERCEPTOR],
    logger: quietBundlerLogger,
  });
  return code;
}

/** Bundling takes seconds: do it once per process and share it with every queue's Worker. */
export async function loadWorkflowBundle(prebuiltPath = process.env.WORKFLOW_BUNDLE_PATH): Promise<WorkflowBundleOption> {
  if (prebuiltPath) return { codePath: prebuiltPath };
  return { code: await bundleWorkflows() };
}

/** Checks a WORKER_TASK_QUEUES list against the registry; empty means every queue. */
export function resolveQueues(names: string[]): string[] {
  if (!names.length) return [...ALL_TASK_QUEUES];
  const unknown = names.filter((n) => !ALL_TASK_QUEUES.includes(n));
  if (unknown.length)
    throw new Error(`WORKER_TASK_QUEUES: unknown task queue(s) ${unknown.join(', ')}; known: ${ALL_TASK_QUEUES.join(', ')}`);
  return names;
}

function queueDefinition(name: string): { queue: QueueDefinition; jobType: string } {
  for (const j of JOBS) {
    const queue = (j.worker.queues as QueueDefinition[]).find((q) => q.name === name);
    if (queue) return { queue, jobType: j.type };
  }
  throw new Error(`no job type serves task queue "${name}"`);
}

export interface CreateWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  prefix: string;
  queues: string[];
  deps: ActivityDeps;
  workflowBundle: WorkflowBundleOption;
  shutdownGraceTimeMs?: number;
  /** Where job starts, ends and items are counted; a registry of its own when absent. */
  metrics?: WorkerJobMetrics;
}

/**
 * One Worker per task queue so each queue can be scaled, tuned and rate-limited on its own;
 * they share one set of workflow threads (src/worker/shared-workflow-threads.ts).
 */
export async function createWorkers(o: CreateWorkersOptions): Promise<Worker[]> {
  // The job-end interceptor is in every bundle, so every Worker needs its sinks.
  const metrics = o.metrics ?? new WorkerJobMetrics(new Registry());
  const releases: (() => Promise<void>)[] = [];
  const warmUps: (() => Promise<void>)[] = [];
  const deps: ActivityDeps = {
    ...o.deps,
    onWorkersStopped: (release) => releases.push(release),
    beforePolling: (warmUp) => warmUps.push(warmUp),
  };
  const queues = o.queues.map((name) => {
    const { queue, jobType } = queueDefinition(name);
    return { name, queue, jobType, activities: queue.activities(deps) };
  });
  const SharingWorker = workerClassSharingWorkflowThreads(queues.flatMap((q) => Object.keys(q.activities)));
  // Warm-up replays run on SharingWorker itself: their end must not count as a queue's Worker stopping.
  const QueueWorker = releasingWhenAllStop(SharingWorker, queues.length, releases, o.deps.logger);
  const workers = await Promise.all(
    queues.map(({ name, queue, jobType, activities }) => {
      const countItems = metrics.activityInterceptor(jobType);
      return QueueWorker.create({
        connection: o.connection,
        namespace: o.namespace,
        taskQueue: prefixedQueue(o.prefix, name),
        workflowBundle: o.workflowBundle,
        activities,
        shutdownGraceTime: o.shutdownGraceTimeMs ?? o.deps.config.WORKER_SHUTDOWN_GRACE,
        sinks: metrics.sinks(),
        ...(countItems ? { interceptors: { activity: [countItems] } } : {}),
        ...queue.options?.(o.deps.config),
      });
    }),
  );
  // Workflow replays and activity warm-ups (e.g. the conversion page path) run side by side, before any Worker polls.
  const [failures] = await Promise.all([
    warmUpWorkflows(SharingWorker, { workflowBundle: o.workflowBundle, sinks: replayJobMetricsSinks() }, warmUpsFor(o.queues)),
    ...warmUps.map((warmUp) =>
      warmUp().catch((error: unknown) =>
        o.deps.logger.warn('an activity warm-up failed; the first job of its type starts cold', { error }),
      ),
    ),
  ]);
  for (const error of failures) o.deps.logger.warn('a workflow warm-up did not replay; the first job of its type starts cold', { error });
  return workers;
}

/**
 * A Worker class whose `count` instances, once every one of them has stopped running, release
 * what their activities registered (e.g. the conversion threads), so a process that creates
 * Workers again (tests, a restart in place) does not keep the old ones' threads.
 */
function releasingWhenAllStop(
  base: typeof Worker,
  count: number,
  releases: (() => Promise<void>)[],
  logger: ActivityDeps['logger'],
): typeof Worker {
  let running = count;
  return class WorkerReleasingActivityResources extends base {
    override async run(): Promise<void> {
      try {
        await super.run();
      } finally {
        if (--running === 0)
          for (const release of releases.splice(0))
            await release().catch((error: unknown) => logger.warn('could not release an activity resource', { error }));
      }
    }
  };
}

/** The warm-ups of the job types whose workflow queue (their first) is served. */
function warmUpsFor(queues: string[]): WorkflowWarmUp[] {
  return JOBS.filter((j) => j.worker.warmUpArgs && queues.includes(j.worker.queues[0].name)).map((j) => ({
    workflowType: j.workflow.name,
    args: j.worker.warmUpArgs!,
  }));
}

/** The schedules of every job type whose workflow queue (its first) is in `queues`. */
export function schedulesFor(config: PlatformConfig, queues: string[]): DesiredSchedule[] {
  return JOBS.filter((j) => j.worker.schedules && queues.includes(j.worker.queues[0].name)).flatMap((j) => j.worker.schedules!(config));
}

export function ensureJobSchedules(
  client: Client,
  config: PlatformConfig,
  queues: string[] = [...ALL_TASK_QUEUES],
): Promise<ScheduleSync[]> {
  return ensureSchedules(client, schedulesFor(config, queues));
}
