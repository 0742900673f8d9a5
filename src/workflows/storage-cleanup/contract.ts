// Contracts of scheduled maintenance, shared by the schedules, the workflows and the activities.
// Pure module: imported by workflow code, so no Node imports here.

/** Task queue of scheduled upkeep. */
export const STORAGE_CLEANUP_QUEUE = 'maintenance';
/** Schedule id without the deployment prefix (production: exactly this). */
export const STORAGE_CLEANUP_SCHEDULE = 'storage-cleanup';

export interface StorageCleanupInput {
  /** A job folder is deleted when its newest file is older than this. */
  retentionMs: number;
}

export interface StorageCleanupResult {
  jobsScanned: number;
  jobsDeleted: number;
  filesDeleted: number;
  bytesFreed: number;
}

export function storageCleanupScheduleId(prefix: string): string {
  return `${prefix}${STORAGE_CLEANUP_SCHEDULE}`;
}
