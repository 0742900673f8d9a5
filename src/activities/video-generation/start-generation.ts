import { log } from '@temporalio/activity';
import type { ProviderJobState, VideoProviderName, VideoRequest } from '../../workflows/video-generation/contract';
import type { ActivityDeps } from '../deps';
import type { VideoGenerationConfig } from './config';
import { providerCall } from './provider-failure';
import { createVideoProvider } from './providers';

export interface StartVideoInput {
  jobId: string;
  provider: VideoProviderName;
  request: VideoRequest;
  /** Same on every attempt, so a provider that honours it never creates a second generation. */
  idempotencyKey: string;
}

export interface StartVideoOutput {
  providerJobId: string;
  state: ProviderJobState;
}

/** Hosted on the `video-starts` queue, whose server-side rate limit caps paid starts per minute. */
export function createVideoStartActivities(deps: ActivityDeps<VideoGenerationConfig>) {
  return {
    async startVideoGeneration(input: StartVideoInput): Promise<StartVideoOutput> {
      const provider = createVideoProvider(input.provider, deps.config);
      const started = await providerCall(input.provider, 'start', () => provider.start(input.request, { idempotencyKey: input.idempotencyKey }));
      log.info('video generation started', { jobId: input.jobId, provider: input.provider, providerJobId: started.providerJobId });
      return started;
    },
  };
}
