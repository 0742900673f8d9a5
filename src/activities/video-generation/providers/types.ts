import type { ProviderDownload } from '../../../net/provider-calls';
import type { ProviderJobState, VideoProviderName, VideoRequest } from '../../../workflows/video-generation/contract';

export interface StartedGeneration {
  providerJobId: string;
  state: ProviderJobState;
}

export type VideoDownload = ProviderDownload;

/** A generation found at the provider by what was asked for, not by its id. */
export interface FoundGeneration {
  providerJobId: string;
  createdAtMs: number;
  state: ProviderJobState;
}

/** What became of a generation we asked the provider to stop. */
export type CancelOutcome = 'deleted' | 'cancelled' | 'gone' | 'unsupported';

/**
 * One video provider's API. Errors are ProviderHttpError (with the provider's status, code,
 * message and Retry-After), ProviderNetworkError or BlockedTargetError; the activities turn
 * them into Temporal failures.
 */
export interface VideoProvider {
  readonly name: VideoProviderName;
  /** Starts a generation. `idempotencyKey` is sent so a repeated start can be recognised. */
  start(request: VideoRequest, options: { idempotencyKey: string; signal?: AbortSignal }): Promise<StartedGeneration>;
  status(providerJobId: string, signal?: AbortSignal): Promise<ProviderJobState>;
  /** The finished video as a stream. */
  download(providerJobId: string, signal?: AbortSignal): Promise<VideoDownload>;
  /**
   * Generations created at or after `sinceMs` for exactly this request, oldest first, for
   * providers that ignore Idempotency-Key but can list recent generations (OpenAI).
   */
  findGenerations?(request: VideoRequest, sinceMs: number, signal?: AbortSignal): Promise<FoundGeneration[]>;
  /** Stops (or deletes) a generation so it is not paid for or kept. */
  cancel(providerJobId: string): Promise<CancelOutcome>;
}
