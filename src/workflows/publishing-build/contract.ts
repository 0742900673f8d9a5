// Contracts of the publishing build job, shared by the API, the workflow and the activities.
// Pure module: imported by workflow code, so no Node imports here.

import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { JobOutcome } from '../../shared/jobs';

/** The workflow and the store steps run on `builds`; the build step itself on `build-runs`, whose server-side rate limit caps build starts per minute. */
export const PUBLISHING_QUEUES = { builds: 'builds', buildRuns: 'build-runs' } as const;

export const PLATFORMS = ['ios', 'android'] as const;
export type Platform = (typeof PLATFORMS)[number];
export const PLAY_TRACKS = ['internal', 'alpha', 'beta', 'production'] as const;
export type PlayTrack = (typeof PLAY_TRACKS)[number];

export type BuildSource = { git: string; ref?: string } | { path: string };

export interface StoreTimings {
  /** Processing polls: first wait, cap, and give-up time. */
  processingPollMs: number;
  processingPollMaxMs: number;
  processingDeadlineMs: number;
  /** Review polls: first wait (1 min), cap (1 h), and give-up time (14 days). */
  reviewPollMs: number;
  reviewPollMaxMs: number;
  reviewDeadlineMs: number;
}

export const DEFAULT_STORE_TIMINGS: StoreTimings = {
  processingPollMs: 30_000,
  processingPollMaxMs: 5 * 60_000,
  processingDeadlineMs: 6 * 3_600_000,
  reviewPollMs: 60_000,
  reviewPollMaxMs: 3_600_000,
  reviewDeadlineMs: 14 * 86_400_000,
};

export interface PublishingBuildInput {
  jobId: string;
  projectId: string;
  platform: Platform;
  source: BuildSource;
  version: string;
  buildNumber: number;
  /** App Store Connect app id (iOS) or package name (Android); the worker's ASC_APP_ID / PLAY_PACKAGE_NAME when absent. */
  appId?: string;
  /** Android only. */
  track?: PlayTrack;
  /** Android only: staged rollout fraction in (0, 1]; 1 or absent = everyone. */
  rollout?: number;
  releaseNotes?: string;
  submitForReview: boolean;
  webhookUrl?: string;
  /** Filled in by the API from its configuration; defaults apply when a job is started by hand. */
  timings?: Partial<StoreTimings>;
  /** Longest a build may run (the build step's start-to-close is derived from it). */
  buildTimeoutMs?: number;
}

export type PublishingPhase = 'preparing' | 'building' | 'uploading' | 'processing' | 'submitting' | 'in_review' | 'done';

export interface PublishingProgress {
  phase: PublishingPhase;
  /** Build attempt (1-based) the log lines belong to. */
  attempt: number;
  logLines: number;
  lastLine?: string;
  store: { state: string; updatedAt: string };
}

/** What the build step reports to the workflow every few seconds. */
export interface BuildProgressReport {
  attempt: number;
  phase: 'preparing' | 'building' | 'uploading';
  lines: number;
  lastLine?: string;
}

export interface BuiltArtifact {
  /** Path among the job's files: artifacts/<name>. */
  file: string;
  bytes: number;
  sha256: string;
  commit?: string;
  logLines: number;
}

export interface AppStoreResult {
  store: 'app-store-connect';
  appId: string;
  buildUploadId: string;
  buildId?: string;
  appStoreVersionId?: string;
  reviewSubmissionId?: string;
  /** COMPLETE (approved), UNRESOLVED_ISSUES (rejected), or absent when not submitted for review. */
  reviewState?: string;
  rejectionReason?: string;
}

export interface PlayResult {
  store: 'google-play';
  packageName: string;
  editId: string;
  versionCode: number;
  track: PlayTrack;
  status: 'completed' | 'inProgress' | 'draft';
  userFraction?: number;
}

export interface PublishingBuildResult {
  status: Extract<JobOutcome, 'completed'>;
  projectId: string;
  platform: Platform;
  version: string;
  buildNumber: number;
  artifact: BuiltArtifact & { downloadUrl?: string };
  /** Path of the build log among the job's files. */
  log: string;
  store: AppStoreResult | PlayResult;
}

export const BUILD_LOG_FILE = 'build.log';

export const progressQuery = defineQuery<PublishingProgress>('progress');
export const buildProgressSignal = defineSignal<[BuildProgressReport]>('buildProgress');

/** Wait before the n-th poll (n from 0): doubling from `first`, capped. */
export function pollDelayMs(n: number, firstMs: number, maxMs: number): number {
  return Math.min(firstMs * 2 ** Math.min(n, 30), maxMs);
}
