import path from 'node:path';
import { bundleWorkflowCode, NativeConnection, Worker, WorkflowBundleOption } from '@temporalio/worker';
import type { ActivityDeps } from '../activities/deps';
import { prefixedQueue, TaskQueueBase } from '../shared/task-queues';
import { activitiesForQueue } from './activities-by-queue';
import { queueOptions } from './queue-options';

export const WORKFLOWS_PATH = path.resolve(__dirname, '..', 'workflows', 'index.ts');

/** Bundling takes seconds: do it once per process and share it with every queue's Worker. */
export async function loadWorkflowBundle(prebuiltPath = process.env.WORKFLOW_BUNDLE_PATH): Promise<WorkflowBundleOption> {
  if (prebuiltPath) return { codePath: prebuiltPath };
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
}

const noop = () => undefined;
const quietBundlerLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => console.error(m) };

export interface CreateWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  prefix: string;
  queues: TaskQueueBase[];
  deps: ActivityDeps;
  workflowBundle: WorkflowBundleOption;
  shutdownGraceTimeMs?: number;
}

/** One Worker per task queue so each queue can be scaled, tuned and rate-limited on its own. */
export async function createWorkers(o: CreateWorkersOptions): Promise<Worker[]> {
  return Promise.all(
    o.queues.map((queue) =>
      Worker.create({
        connection: o.connection,
        namespace: o.namespace,
        taskQueue: prefixedQueue(o.prefix, queue),
        workflowBundle: o.workflowBundle,
        activities: activitiesForQueue(queue, o.deps),
        shutdownGraceTime: o.shutdownGraceTimeMs ?? o.deps.config.WORKER_SHUTDOWN_GRACE,
        ...queueOptions(queue, o.deps.config),
      }),
    ),
  );
}
