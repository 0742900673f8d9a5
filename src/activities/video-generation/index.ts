import { strictQueueRate } from '../../temporal/task-queue-rate';
import type { JobWorker } from '../../worker/job-definition';
import { VIDEO_QUEUES } from '../../workflows/video-generation/contract';
import type { ActivityDeps } from '../deps';
import { createCancelActivity } from './cancel-generation';
import { videoGenerationEnv, VideoGenerationConfig } from './config';
import { createDownloadActivity } from './download-video';
import { createStatusActivity } from './poll-status';
import { createRequestSlotActivity } from './request-slot';
import { videoLocalRun } from './local-run';
import { createVideoStartActivities } from './start-generation';

export type { StartVideoInput, StartVideoOutput } from './start-generation';
export type { ProviderJobRef } from './poll-status';
export type { DownloadVideoInput, DownloadVideoOutput } from './download-video';
export type { RequestSlotInput } from './request-slot';

/** Activities of the `video` queue: status polls, download, cancel, and asking for a generation slot. */
export function createVideoActivities(deps: ActivityDeps<VideoGenerationConfig>) {
  return {
    ...createStatusActivity(deps),
    ...createDownloadActivity(deps),
    ...createCancelActivity(deps),
    ...createRequestSlotActivity(),
  };
}

export type VideoActivities = ReturnType<typeof createVideoActivities>;
export type VideoStartActivities = ReturnType<typeof createVideoStartActivities>;

export const videoGenerationWorker: JobWorker<typeof videoGenerationEnv.shape> = {
  env: videoGenerationEnv,
  queues: [
    { name: VIDEO_QUEUES.video, activities: createVideoActivities, options: () => ({ maxConcurrentActivityTaskExecutions: 50 }) },
    {
      name: VIDEO_QUEUES.starts,
      activities: createVideoStartActivities,
      // The server enforces this for the whole queue, so the limit holds across all workers.
      options: (config: VideoGenerationConfig) => ({
        maxTaskQueueActivitiesPerSecond: strictQueueRate(config.VIDEO_STARTS_PER_MINUTE, 60_000),
      }),
    },
  ],
  localRun: videoLocalRun,
};
