import type { ActivityDeps } from '../deps';
import { createCancelActivity } from './cancel-generation';
import { createDownloadActivity } from './download-video';
import { createStatusActivity } from './poll-status';
import { createRequestSlotActivity } from './request-slot';
import { createVideoStartActivities } from './start-generation';

export { createVideoStartActivities };
export type { StartVideoInput, StartVideoOutput } from './start-generation';
export type { ProviderJobRef } from './poll-status';
export type { DownloadVideoInput, DownloadVideoOutput } from './download-video';
export type { RequestSlotInput } from './request-slot';

/** Activities of the `video` queue: status polls, download, cancel, and asking for a generation slot. */
export function createVideoActivities(deps: ActivityDeps) {
  return {
    ...createStatusActivity(deps),
    ...createDownloadActivity(deps),
    ...createCancelActivity(deps),
    ...createRequestSlotActivity(),
  };
}

export type VideoActivities = ReturnType<typeof createVideoActivities>;
export type VideoStartActivities = ReturnType<typeof createVideoStartActivities>;
