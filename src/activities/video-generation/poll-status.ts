import { cancellationSignal } from '@temporalio/activity';
import type { ProviderJobState, VideoProviderName } from '../../workflows/video-generation/contract';
import type { ActivityDeps } from '../deps';
import type { VideoGenerationConfig } from './config';
import { providerCall } from './provider-failure';
import { createVideoProvider } from './providers';

export interface ProviderJobRef {
  provider: VideoProviderName;
  providerJobId: string;
}

export function createStatusActivity(deps: ActivityDeps<VideoGenerationConfig>) {
  return {
    /** One status check; the workflow's timers space the checks out. */
    async videoGenerationStatus(ref: ProviderJobRef): Promise<ProviderJobState> {
      const provider = createVideoProvider(ref.provider, deps.config);
      return providerCall(ref.provider, 'status', () => provider.status(ref.providerJobId, cancellationSignal()));
    },
  };
}
