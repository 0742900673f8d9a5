import type { ActivityDeps } from '../activities/deps';
import { createWebhookActivities } from '../activities/webhook-delivery';
import { createConversionActivities } from '../activities/bulk-conversion/index';
import { createVideoActivities, createVideoStartActivities } from '../activities/video-generation';
import { createMaintenanceActivities } from '../activities/storage-cleanup';
import { createBuildActivities, createStoreActivities } from '../activities/publishing-build';
import { TASK_QUEUES, type TaskQueueBase } from '../shared/task-queues';

type ActivityMap = Record<string, (...args: never[]) => Promise<unknown>>;

/** The activities each task queue's worker hosts. */
export function activitiesForQueue(queue: TaskQueueBase, deps: ActivityDeps): ActivityMap {
  switch (queue) {
    case TASK_QUEUES.conversion:
      return createConversionActivities(deps);
    case TASK_QUEUES.webhooks:
      return createWebhookActivities(deps);
    case TASK_QUEUES.video:
      return createVideoActivities(deps);
    case TASK_QUEUES.videoStarts:
      return createVideoStartActivities(deps);
    case TASK_QUEUES.maintenance:
      return createMaintenanceActivities(deps);
    case TASK_QUEUES.builds:
      return createStoreActivities(deps);
    case TASK_QUEUES.buildRuns:
      return createBuildActivities(deps);
    default:
      return {};
  }
}
