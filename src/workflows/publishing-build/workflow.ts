import { log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BuildActivities, StoreActivities } from '../../activities/publishing-build';
import type { JobOutcome } from '../../shared/jobs';
import { siblingQueue } from '../../shared/task-queues';
import { applicationFailureType, endJobOnError, recordJobEnd } from '../job-end';
import { pollUntil } from '../poll';
import {
  AppStoreResult,
  BUILD_LOG_FILE,
  buildProgressSignal,
  BuiltArtifact,
  DEFAULT_STORE_TIMINGS,
  PlayResult,
  pollDelayMs,
  progressQuery,
  PUBLISHING_QUEUES,
  PublishingBuildInput,
  PublishingBuildResult,
  PublishingProgress,
  StoreTimings,
} from './contract';

// A publishing build: build the app (rate-limited build queue, 3 attempts, each from a fresh
// workspace), store the artifact, hand it to App Store Connect or Google Play, and for iOS wait
// on durable timers — for days if need be — until App Review decides. Worker restarts and deploys
// change nothing: the waits live in history. Cancelling kills a running build; during review it
// withdraws the submission at the store.

const BUILD_MARGIN_MS = 15 * 60_000;

const store = proxyActivities<Pick<StoreActivities, 'uploadToAppStore' | 'submitForAppReview' | 'publishToPlay'>>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 6 },
});
const polls = proxyActivities<Pick<StoreActivities, 'appStoreProcessing' | 'appReviewStatus'>>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});
const cleanup = proxyActivities<Pick<StoreActivities, 'withdrawAppReview'>>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 5 },
});

class JobFailed extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function publishingBuild(input: PublishingBuildInput): Promise<PublishingBuildResult> {
  const timings: StoreTimings = { ...DEFAULT_STORE_TIMINGS, ...input.timings };
  const buildTimeoutMs = input.buildTimeoutMs ?? 30 * 60_000;
  const builds = proxyActivities<BuildActivities>({
    taskQueue: siblingQueue(workflowInfo().taskQueue, PUBLISHING_QUEUES.builds, PUBLISHING_QUEUES.buildRuns),
    startToCloseTimeout: buildTimeoutMs + BUILD_MARGIN_MS,
    heartbeatTimeout: '30s',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 3 },
  });

  const now = () => new Date().toISOString();
  const progress: PublishingProgress = { phase: 'preparing', attempt: 1, logLines: 0, store: { state: 'not_submitted', updatedAt: now() } };
  setHandler(progressQuery, () => progress);
  setHandler(buildProgressSignal, (r) => {
    if (r.attempt < progress.attempt || !['preparing', 'building', 'uploading'].includes(progress.phase)) return;
    Object.assign(progress, {
      attempt: r.attempt,
      phase: r.phase === 'uploading' ? 'building' : r.phase,
      logLines: r.lines,
      lastLine: r.lastLine,
    });
  });
  const storeState = (state: string) => (progress.store = { state, updatedAt: now() });

  let asc: AppStoreResult | undefined;
  let play: PlayResult | undefined;
  let artifact: BuiltArtifact | undefined;
  let inReview = false;

  const finish = (outcome: JobOutcome, extra: Record<string, unknown>) =>
    recordJobEnd({
      jobId: input.jobId,
      webhookUrl: input.webhookUrl,
      fromQueue: PUBLISHING_QUEUES.builds,
      outcome,
      data: {
        type: 'publishing-build',
        projectId: input.projectId,
        platform: input.platform,
        version: input.version,
        buildNumber: input.buildNumber,
        store: asc ?? play,
        ...extra,
      },
    });

  try {
    // 1–3. Workspace, build, artifact.
    artifact = await builds.buildArtifact({
      jobId: input.jobId,
      projectId: input.projectId,
      platform: input.platform,
      source: input.source,
      version: input.version,
      buildNumber: input.buildNumber,
    });
    progress.logLines = artifact.logLines;

    // 4–5. The store.
    if (input.platform === 'android') {
      progress.phase = 'submitting';
      play = await store.publishToPlay({
        jobId: input.jobId,
        packageName: input.appId!,
        artifact,
        versionCode: input.buildNumber,
        track: input.track ?? 'internal',
        rollout: input.rollout,
        releaseNotes: input.releaseNotes,
        submitForReview: input.submitForReview,
      });
      storeState(play.status === 'draft' ? 'draft_committed' : 'committed');
    } else {
      progress.phase = 'uploading';
      const { buildUploadId } = await store.uploadToAppStore({
        jobId: input.jobId,
        appId: input.appId!,
        version: input.version,
        buildNumber: input.buildNumber,
        artifact,
      });
      asc = { store: 'app-store-connect', appId: input.appId!, buildUploadId };
      progress.phase = 'processing';
      storeState('PROCESSING');
      const processed = await untilSettled(
        timings.processingPollMs,
        timings.processingPollMaxMs,
        timings.processingDeadlineMs,
        'processing',
        async () => {
          const p = await polls.appStoreProcessing({ buildUploadId });
          storeState(p.state);
          return p.state === 'PROCESSING' ? undefined : p;
        },
      );
      asc.buildId = processed.buildId;
      if (processed.state !== 'VALID')
        throw new JobFailed(
          'StoreProcessingInvalid',
          `App Store Connect processed build ${input.buildNumber} as ${processed.state}: ${processed.reason}`,
        );

      if (input.submitForReview) {
        progress.phase = 'submitting';
        const submitted = await store.submitForAppReview({ appId: input.appId!, version: input.version, buildId: processed.buildId });
        Object.assign(asc, {
          appStoreVersionId: submitted.appStoreVersionId,
          reviewSubmissionId: submitted.reviewSubmissionId,
          reviewState: submitted.state,
        });
        inReview = true;
        progress.phase = 'in_review';
        storeState(submitted.state);
        const review = await untilSettled(
          timings.reviewPollMs,
          timings.reviewPollMaxMs,
          timings.reviewDeadlineMs,
          'App Review',
          async () => {
            const r = await polls.appReviewStatus({ reviewSubmissionId: submitted.reviewSubmissionId });
            storeState(r.state);
            return r.state === 'COMPLETE' || r.state === 'UNRESOLVED_ISSUES' ? r : undefined;
          },
        );
        inReview = false;
        asc.reviewState = review.state;
        if (review.state === 'UNRESOLVED_ISSUES') {
          asc.rejectionReason = review.reason ?? 'App Review reported unresolved issues; see Resolution Center in App Store Connect';
          throw new JobFailed(
            'AppReviewRejected',
            `App Review rejected version ${input.version} (${input.buildNumber}): ${asc.rejectionReason}`,
          );
        }
      }
    }

    progress.phase = 'done';
    const result: PublishingBuildResult = {
      status: 'completed',
      projectId: input.projectId,
      platform: input.platform,
      version: input.version,
      buildNumber: input.buildNumber,
      artifact,
      log: BUILD_LOG_FILE,
      store: (asc ?? play)!,
    };
    await finish('completed', { result });
    return result;
  } catch (err) {
    return endJobOnError(err, {
      // Cancelled during review: withdraw the submission at the store.
      cleanUp: async (outcome) => {
        if (outcome !== 'cancelled' || !inReview || !asc?.reviewSubmissionId) return;
        const withdrawn = await cleanup.withdrawAppReview({ reviewSubmissionId: asc.reviewSubmissionId }).catch((e: Error) => {
          log.warn('could not withdraw the review submission', { error: e.message });
          return undefined;
        });
        if (withdrawn) storeState(withdrawn.withdrawn ? 'withdrawn' : withdrawn.state);
      },
      record: (outcome, error) => finish(outcome, outcome === 'failed' ? { error, phase: progress.phase } : {}),
      failureType: (e) => (e instanceof JobFailed ? e.type : (applicationFailureType(e) ?? 'PublishingBuildFailed')),
    });
  }
}

/** Polls on durable timers with doubling gaps until `check` returns a value or the deadline passes. */
function untilSettled<T>(
  firstMs: number,
  maxMs: number,
  deadlineMs: number,
  what: string,
  check: () => Promise<T | undefined>,
): Promise<T> {
  return pollUntil({
    deadlineMs,
    delayMs: (n) => pollDelayMs(n, firstMs, maxMs),
    what,
    check,
    expired: () =>
      new JobFailed(
        'StoreDeadlineExceeded',
        `${what} did not finish within ${Math.round(deadlineMs / 60_000)} min; the submission stays at the store`,
      ),
  });
}
