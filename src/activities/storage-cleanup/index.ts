import { scheduledJobWorker } from '../../worker/job-definition';
import { STORAGE_CLEANUP_QUEUE, storageCleanupScheduleId } from '../../workflows/storage-cleanup/contract';
import { storageCleanup } from '../../workflows/storage-cleanup/workflow';
import { storageCleanupEnv, StorageCleanupConfig } from './config';
import { createDeleteExpiredJobFilesActivity } from './delete-expired-job-files';

const activities = createDeleteExpiredJobFilesActivity;
export const createStorageCleanupActivities = activities;
export type StorageCleanupActivities = ReturnType<typeof activities>;

/** Every CLEANUP_SCHEDULE, deletes the files of jobs older than ARTIFACT_RETENTION. */
const schedule = (config: StorageCleanupConfig) => ({
  scheduleId: storageCleanupScheduleId(config.TASK_QUEUE_PREFIX),
  workflowType: storageCleanup,
  args: [{ retentionMs: config.ARTIFACT_RETENTION }],
  cron: config.CLEANUP_SCHEDULE,
});
export const storageCleanupWorker = scheduledJobWorker({ env: storageCleanupEnv, queue: STORAGE_CLEANUP_QUEUE, activities, schedule });
