import type { JobWorker } from '../../worker/job-definition';
import { BULK_CONVERSION_QUEUE, BulkConversionInput } from '../../workflows/bulk-conversion/contract';
import type { ActivityDeps } from '../deps';
import { createChunkActivities } from './chunk';
import { bulkConversionEnv, BulkConversionConfig } from './config';
import { createFinalizeActivities } from './finalize';
import { createManifestActivities } from './manifest';
import { bulkConversionMetrics } from './metrics';

/** Every activity of the conversion task queue. */
export function createBulkConversionActivities(deps: ActivityDeps<BulkConversionConfig>) {
  return {
    ...createManifestActivities(deps),
    ...createChunkActivities(deps),
    ...createFinalizeActivities(deps),
  };
}

export type BulkConversionActivities = ReturnType<typeof createBulkConversionActivities>;

/** A job like the ones the API starts; its first workflow task is only replayed at worker start, never run. */
const warmUpJob: BulkConversionInput = {
  jobId: 'warm-up',
  owner: 'warm-up',
  source: { urls: ['https://warm-up.invalid/'] },
  format: 'h5p',
  concurrency: 20,
};

export const bulkConversionWorker: JobWorker<typeof bulkConversionEnv.shape> = {
  env: bulkConversionEnv,
  metrics: bulkConversionMetrics,
  warmUpArgs: [warmUpJob],
  queues: [
    {
      name: BULK_CONVERSION_QUEUE,
      activities: createBulkConversionActivities,
      // Each activity converts a chunk of URLs concurrently, so few slots carry many URLs.
      // Chunks heartbeat often so a cancel request reaches them within seconds.
      options: () => ({ maxConcurrentActivityTaskExecutions: 50, maxHeartbeatThrottleInterval: '2s' }),
    },
  ],
};
