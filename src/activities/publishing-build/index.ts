import { strictQueueRate } from '../../temporal/task-queue-rate';
import { publishingLocalRun } from './local-run';
import type { JobWorker } from '../../worker/job-definition';
import { PUBLISHING_QUEUES } from '../../workflows/publishing-build/contract';
import { createBuildActivities } from './build-artifact';
import { publishingBuildEnv, PublishingBuildConfig } from './config';
import { createStoreActivities } from './store-activities';

export { createBuildActivities, createStoreActivities };
export type { BuildArtifactInput } from './build-artifact';
export type { AppStoreUploadInput, AppReviewInput, PlayPublishInput, ProcessingOutcome } from './store-activities';

export type BuildActivities = ReturnType<typeof createBuildActivities>;
export type StoreActivities = ReturnType<typeof createStoreActivities>;

export const publishingBuildWorker: JobWorker<typeof publishingBuildEnv.shape> = {
  env: publishingBuildEnv,
  queues: [
    // The workflow and the store steps (uploads, polls, submissions).
    { name: PUBLISHING_QUEUES.builds, activities: createStoreActivities, options: () => ({ maxConcurrentActivityTaskExecutions: 20 }) },
    {
      // The build step: builds per minute across all workers (enforced by the server for the
      // whole queue, exactly when the queue has one partition) and builds at once in this
      // worker process.
      name: PUBLISHING_QUEUES.buildRuns,
      activities: createBuildActivities,
      options: (config: PublishingBuildConfig) => ({
        maxConcurrentActivityTaskExecutions: config.BUILD_CONCURRENCY,
        maxTaskQueueActivitiesPerSecond: strictQueueRate(config.BUILDS_PER_MINUTE, 60_000),
        // Heartbeats reach the server within seconds, and with them a cancellation reaches the build.
        maxHeartbeatThrottleInterval: '2s',
      }),
    },
  ],
  localRun: publishingLocalRun,
};
