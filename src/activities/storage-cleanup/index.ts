import { prefixedQueue } from '../../shared/task-queues';
import type { JobWorker } from '../../worker/job-definition';
import { STORAGE_CLEANUP_QUEUE, storageCleanupScheduleId } from '../../workflows/storage-cleanup/contract';
import { storageCleanup } from '../../workflows/storage-cleanup/workflow';
import type { ActivityDeps } from '../deps';
import { storageCleanupEnv, StorageCleanupConfig } from './config';
import { createDeleteExpiredJobFilesActivity } from './delete-expired-job-files';

export function createStorageCleanupActivities(deps: ActivityDeps) {
  return { ...createDeleteExpiredJobFilesActivity(deps) };
}
export type StorageCleanupActivities = ReturnType<typeof createStorageCleanupActivities>;

export const storageCleanupWorker: JobWorker<typeof storageCleanupEnv.shape> = {
  env: storageCleanupEnv,
  queues: [{ name: STORAGE_CLEANUP_QUEUE, activities: createStorageCleanupActivities }],
  schedules: (config: StorageCleanupConfig) => [
    {
      scheduleId: storageCleanupScheduleId(config.TASK_QUEUE_PREFIX),
      cron: config.CLEANUP_SCHEDULE,
      workflowType: storageCleanup,
      taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, STORAGE_CLEANUP_QUEUE),
      args: [{ retentionMs: config.ARTIFACT_RETENTION }],
    },
  ],
};
