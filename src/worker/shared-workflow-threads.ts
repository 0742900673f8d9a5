import { CompiledWorkerOptions, Worker } from '@temporalio/worker';

// Temporal gives each Worker (one per task queue) workflow threads of its own, each a V8
// isolate holding the SDK, its protobuf definitions and the workflow bundle: ~35-50 MB per
// Worker before any workflow runs. Our Workers all run the same bundle, so they share one set
// of threads. A thread knows one list of activity names (the SDK checks a local activity's
// name against it before scheduling): it gets every Worker's, and each workflow schedules
// local activities only on its own queue's Worker, which registers them.

type CreateWorkflowCreator = (typeof Worker)['createWorkflowCreator'];
type WorkflowCreator = Awaited<ReturnType<CreateWorkflowCreator>>;

/**
 * A Worker class whose instances share their workflow threads; `activityNames` are the
 * activities of every Worker that will be created with it. The threads stop with the last Worker.
 */
export function workerClassSharingWorkflowThreads(activityNames: Iterable<string>): typeof Worker {
  const names = new Map([...activityNames].map((name) => [name, () => Promise.resolve()] as const));
  let shared: Promise<WorkflowCreator> | undefined;
  let users = 0;

  return class WorkerSharingWorkflowThreads extends Worker {
    protected static override async createWorkflowCreator(
      ...[bundle, options, logger]: Parameters<CreateWorkflowCreator>
    ): Promise<WorkflowCreator> {
      const allActivities: CompiledWorkerOptions = { ...options, activities: names };
      shared ??= super.createWorkflowCreator(bundle, allActivities, logger);
      users++;
      let creator: WorkflowCreator;
      try {
        creator = await shared;
      } catch (e) {
        if (--users === 0) shared = undefined;
        throw e;
      }
      let released = false;
      return {
        createWorkflow: (o) => creator.createWorkflow(o),
        destroy: async () => {
          if (released) return;
          released = true;
          if (--users === 0) {
            shared = undefined;
            await creator.destroy();
          }
        },
      };
    }
  };
}
