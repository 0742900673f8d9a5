import { proxyActivities } from '@temporalio/workflow';
import type { StorageCleanupActivities } from '../../activities/storage-cleanup';
import type { StorageCleanupInput, StorageCleanupResult } from './contract';

// Scheduled upkeep: delete the files of jobs that have been quiet for longer than the retention.
// Started by the `storage-cleanup` Temporal Schedule on the maintenance queue (or by hand).

const storage = proxyActivities<StorageCleanupActivities>({
  // A large store takes a while; the heartbeat says it is alive and where to resume.
  startToCloseTimeout: '2h',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 5 },
});

export async function storageCleanup(input: StorageCleanupInput): Promise<StorageCleanupResult> {
  return storage.deleteExpiredJobFiles({ retentionMs: input.retentionMs });
}
