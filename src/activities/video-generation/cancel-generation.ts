import { log } from '@temporalio/activity';
import type { ActivityDeps } from '../deps';
import type { VideoGenerationConfig } from './config';
import type { ProviderJobRef } from './poll-status';
import { providerCall } from './provider-failure';
import { createVideoProvider, type CancelOutcome } from './providers';

export function createCancelActivity(deps: ActivityDeps<VideoGenerationConfig>) {
  return {
    /** Stops a generation at the provider (OpenAI: delete the video; Veo: cancel the operation). */
    async cancelVideoGeneration(ref: ProviderJobRef): Promise<CancelOutcome> {
      const provider = createVideoProvider(ref.provider, deps.config);
      const outcome = await providerCall(ref.provider, 'cancel', () => provider.cancel(ref.providerJobId));
      log.info('video generation stopped at the provider', { provider: ref.provider, providerJobId: ref.providerJobId, outcome });
      return outcome;
    },
  };
}
