import { Context, log } from '@temporalio/activity';
import type { ProviderJobState, VideoProviderName, VideoRequest } from '../../workflows/video-generation/contract';
import type { ActivityDeps } from '../deps';
import type { VideoGenerationConfig } from './config';
import { providerCall } from './provider-failure';
import { createVideoProvider, type VideoProvider } from './providers';

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

/** Provider timestamps have one-second resolution and come from another clock. */
export const CREATED_AT_SLACK_MS = 10_000;

/** Hosted on the `video-starts` queue, whose server-side rate limit caps paid starts per minute. */
export function createVideoStartActivities(deps: ActivityDeps<VideoGenerationConfig>) {
  return {
    async startVideoGeneration(input: StartVideoInput): Promise<StartVideoOutput> {
      const provider = createVideoProvider(input.provider, deps.config);
      const { attempt, scheduledTimestampMs } = Context.current().info;
      // An earlier attempt may have created the generation and lost the answer (timeout, 5xx,
      // dropped connection); a provider that ignores Idempotency-Key would then bill a second one.
      if (attempt > 1 && provider.findGenerations) {
        const adopted = await providerCall(input.provider, 'start', () =>
          adoptEarlierGeneration(provider, input, attempt - 1, scheduledTimestampMs),
        );
        if (adopted) return adopted;
      }
      const started = await providerCall(input.provider, 'start', () =>
        provider.start(input.request, { idempotencyKey: input.idempotencyKey }),
      );
      log.info('video generation started', { jobId: input.jobId, provider: input.provider, providerJobId: started.providerJobId });
      return started;
    },
  };
}

/**
 * Looks for generations of exactly this request created since the first attempt was scheduled.
 * Each earlier attempt sent at most one create, so only that many (the oldest) can be ours:
 * the first healthy one is kept, the others are stopped so none runs unaccounted for.
 */
async function adoptEarlierGeneration(
  provider: VideoProvider,
  input: StartVideoInput,
  earlierAttempts: number,
  firstScheduledMs: number,
): Promise<StartVideoOutput | undefined> {
  const found = await provider.findGenerations!(input.request, firstScheduledMs - CREATED_AT_SLACK_MS);
  const ours = found.slice(0, earlierAttempts);
  if (ours.length === 0) return undefined;
  const kept = ours.find((g) => g.state.status !== 'failed') ?? ours[0];
  for (const extra of ours) {
    if (extra === kept) continue;
    const outcome = await provider.cancel(extra.providerJobId);
    log.warn('stopped a second generation an earlier attempt created', { jobId: input.jobId, providerJobId: extra.providerJobId, outcome });
  }
  log.info('video generation found from an earlier attempt', {
    jobId: input.jobId,
    provider: input.provider,
    providerJobId: kept.providerJobId,
  });
  return { providerJobId: kept.providerJobId, state: kept.state };
}
