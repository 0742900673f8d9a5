import { scheduledJobWorker } from '../../worker/job-definition';
import { STORAGE_CLEANUP_QUEUE, storageCleanupScheduleId } from '../../workflows/storage-cleanup/contract';
import { storageCleanup } from '../../workflows/storage-cleanup/workflow';
import type { ActivityDeps } from '../deps';
import { storageCleanupEnv, StorageCleanupConfig } from './config';
import { createDeleteExpiredJobFilesActivity } from './delete-expired-job-files';

export function createStorageCleanupActivities(deps: ActivityDeps) {
  return { ...createDeleteExpiredJobFilesActivity(deps) };
}
export type StorageCleanupActivities = ReturnType<typeof createStorageCleanupActivities>;

export const storageCleanupWorker = scheduledJobWorker({
  env: storageCleanupEnv,
  queue: STORAGE_CLEANUP_QUEUE,
  activities: createStorageCleanupActivities,
  schedule: (config: StorageCleanupConfig) => ({ scheduleId: storageCleanupScheduleId(config.TASK_QUEUE_PREFIX), cron: config.CLEANUP_SCHEDULE, workflowType: storageCleanup, args: [{ retentionMs: config.ARTIFACT_RETENTION }] }),
});
