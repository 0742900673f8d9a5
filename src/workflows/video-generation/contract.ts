// Contracts of the video generation job, shared by the API, the workflows and the activities.
// Pure module: imported by workflow code, so no Node imports here.

import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { JobOutcome } from '../../shared/jobs';

export const VIDEO_QUEUES = {
  /** The job workflow, the slot semaphore, polls, downloads and cancels. */
  video: 'video',
  /** Provider calls that start a paid generation: rate-limited for the whole queue. */
  starts: 'video-starts',
} as const;

export const VIDEO_PROVIDERS = ['sora', 'veo', 'emulator'] as const;
export type VideoProviderName = (typeof VIDEO_PROVIDERS)[number];

/** What each provider's API accepts (OpenAI Videos API; Veo 3.1 through the Gemini API). First value = default. */
export interface ProviderCatalog {
  models: readonly string[];
  seconds: readonly number[];
  /** OpenAI: `size` as WIDTHxHEIGHT, per model. */
  sizesByModel?: Readonly<Record<string, readonly string[]>>;
  /** Veo: `aspectRatio` and `resolution`. */
  aspectRatios?: readonly string[];
  resolutions?: readonly string[];
  /** Veo: resolutions that need an 8-second clip. */
  resolutionsNeedingEightSeconds?: readonly string[];
}

const SORA: ProviderCatalog = {
  models: ['sora-2', 'sora-2-pro'],
  seconds: [4, 8, 12],
  sizesByModel: {
    'sora-2': ['720x1280', '1280x720'],
    'sora-2-pro': ['720x1280', '1280x720', '1024x1792', '1792x1024'],
  },
};

const VEO: ProviderCatalog = {
  models: ['veo-3.1-generate-preview', 'veo-3.1-fast-generate-preview'],
  seconds: [8, 4, 6],
  aspectRatios: ['16:9', '9:16'],
  resolutions: ['720p', '1080p', '4k'],
  resolutionsNeedingEightSeconds: ['1080p', '4k'],
};

export const PROVIDER_CATALOG: Record<VideoProviderName, ProviderCatalog> = { sora: SORA, veo: VEO, emulator: SORA };

export interface PollingOptions {
  /** First wait between status polls (default 5 s). */
  intervalMs: number;
  /** Cap for the growing wait (default 60 s). */
  maxIntervalMs: number;
  /** Give up and fail the job when the generation has not finished this long after it started (default 10 min). */
  deadlineMs: number;
}

export const DEFAULT_POLLING: PollingOptions = { intervalMs: 5_000, maxIntervalMs: 60_000, deadlineMs: 10 * 60_000 };
export const POLL_BACKOFF = 1.5;
export const DEFAULT_MAX_IN_FLIGHT = 2;

/** The generation request as the provider sees it: every value already validated for that provider. */
export interface VideoRequest {
  prompt: string;
  model: string;
  seconds: number;
  /** OpenAI providers. */
  size?: string;
  /** Veo. */
  aspectRatio?: string;
  resolution?: string;
}

export interface VideoGenerationInput {
  jobId: string;
  provider: VideoProviderName;
  request: VideoRequest;
  webhookUrl?: string;
  /** Filled in by the API from its configuration; defaults apply when a job is started by hand. */
  polling?: Partial<PollingOptions>;
  /** Generations allowed at the providers at once, across all workers. */
  maxInFlight?: number;
}

export type ProviderJobStatus = 'queued' | 'in_progress' | 'completed' | 'failed';

export interface ProviderJobState {
  status: ProviderJobStatus;
  /** 0–100 when the provider reports it. */
  percent?: number;
  /** The provider's own words when it failed the generation. */
  error?: { code?: string; message: string };
}

export type VideoPhase = 'waiting_for_slot' | 'starting' | 'generating' | 'downloading' | 'finishing' | 'done';

export interface VideoProgress {
  phase: VideoPhase;
  percent: number;
  provider: VideoProviderName;
  providerJobId?: string;
  providerStatus?: ProviderJobStatus;
  polls: number;
}

export interface VideoGenerationResult {
  status: Extract<JobOutcome, 'completed'>;
  provider: VideoProviderName;
  providerJobId: string;
  model: string;
  seconds: number;
  bytes: number;
  /** Path of the video among the job's files: `videos/<jobId>.mp4`. */
  file: string;
  /** Absolute download URL as the worker's API_PUBLIC_URL sees it; the API rebuilds it with its own. */
  downloadUrl: string;
}

export function videoFilePath(jobId: string): string {
  return `videos/${jobId}.mp4`;
}

/** Wait before the n-th status poll (n from 0): interval × 1.5ⁿ, capped. */
export function pollDelayMs(n: number, polling: PollingOptions): number {
  return Math.min(Math.round(polling.intervalMs * POLL_BACKOFF ** n), polling.maxIntervalMs);
}

/** The semaphore workflow that bounds generations in flight; one per task-queue prefix. */
export function videoSlotsWorkflowId(videoQueue: string): string {
  return `video-slots@${videoQueue}`;
}

export interface SlotRequest {
  holderId: string;
  limit: number;
}

export interface SlotsState {
  limit: number;
  holders: string[];
  waiters: string[];
}

export const progressQuery = defineQuery<VideoProgress>('progress');

// The slot semaphore's handles (see video-slots.ts).
export const acquireVideoSlotSignal = defineSignal<[SlotRequest]>('acquireVideoSlot');
export const releaseVideoSlotSignal = defineSignal<[{ holderId: string }]>('releaseVideoSlot');
export const videoSlotGrantedSignal = defineSignal<[{ semaphoreId: string }]>('videoSlotGranted');
export const videoSlotsQuery = defineQuery<SlotsState>('slots');
