import path from 'node:path';
import { activityInfo, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../deps';
import type { PublishingBuildConfig } from './config';
import { jobFileKey } from '../../shared/urls';
import type { BuiltArtifact, PlayResult, PlayTrack } from '../../workflows/publishing-build/contract';
import { localCopy } from './artifact-file';
import { ascClientFrom, playClientFrom } from './stores';
import { storeCall } from './stores/store-failure';

// The store steps. Each is idempotent across its own retries: ids created by an attempt are
// recorded in its heartbeat details, and the next attempt carries on from them.

const ASC = 'App Store Connect';
const PLAY = 'Google Play';

export interface AppStoreUploadInput {
  jobId: string;
  appId: string;
  version: string;
  buildNumber: number;
  artifact: BuiltArtifact;
}

export type ProcessingOutcome =
  { state: 'PROCESSING' } | { state: 'VALID'; buildId: string } | { state: 'INVALID' | 'FAILED'; reason: string; buildId?: string };

export interface AppReviewInput {
  appId: string;
  version: string;
  buildId: string;
}

export interface PlayPublishInput {
  jobId: string;
  packageName: string;
  artifact: BuiltArtifact;
  versionCode: number;
  track: PlayTrack;
  rollout?: number;
  releaseNotes?: string;
  /** false: the release is uploaded as a draft. */
  submitForReview: boolean;
}

const previous = <T>(): Partial<T> => (activityInfo().heartbeatDetails as Partial<T> | undefined) ?? {};

export function createStoreActivities(deps: ActivityDeps<PublishingBuildConfig>) {
  const { config, store } = deps;
  const asc = () => ascClientFrom(config, Context.current().cancellationSignal);

  return {
    /** Creates the build upload, PUTs the .ipa in the parts App Store Connect asks for, and commits it. */
    async uploadToAppStore(input: AppStoreUploadInput): Promise<{ buildUploadId: string }> {
      const client = asc();
      const ctx = Context.current();
      let buildUploadId = previous<{ buildUploadId: string }>().buildUploadId;
      if (buildUploadId) {
        const status = await storeCall(ASC, 'read the build upload', () => client.buildUploadStatus(buildUploadId!));
        if (status.state !== 'AWAITING_UPLOAD') return { buildUploadId };
      } else {
        buildUploadId = await storeCall(
          ASC,
          'create the build upload',
          () => client.createBuildUpload(input.appId, input.version, input.buildNumber),
          input.buildNumber,
        );
        ctx.heartbeat({ buildUploadId });
      }
      const copy = await localCopy(store, jobFileKey(input.jobId, input.artifact.file));
      try {
        const file = await storeCall(ASC, 'declare the upload file', () =>
          client.createUploadFile(buildUploadId!, path.basename(input.artifact.file), copy.size),
        );
        for (const [i, op] of file.operations.entries()) {
          await storeCall(ASC, `upload part ${i + 1} of ${file.operations.length}`, () => client.uploadPart(op, copy.file));
          ctx.heartbeat({ buildUploadId, parts: i + 1 });
        }
        await storeCall(ASC, 'commit the upload', () => client.commitUploadFile(file.id, input.artifact.sha256));
      } finally {
        await copy.done();
      }
      return { buildUploadId };
    },

    async appStoreProcessing(input: { buildUploadId: string }): Promise<ProcessingOutcome> {
      const s = await storeCall(ASC, 'read the processing state', () => asc().buildUploadStatus(input.buildUploadId));
      if (s.state === 'FAILED')
        return { state: 'FAILED', reason: s.errors.join('; ') || 'App Store Connect rejected the upload without a reason' };
      if (!s.buildId || !s.processingState || s.processingState === 'PROCESSING') return { state: 'PROCESSING' };
      if (s.processingState === 'VALID') return { state: 'VALID', buildId: s.buildId };
      return {
        state: s.processingState,
        buildId: s.buildId,
        reason: s.reason ?? `App Store Connect processed the build as ${s.processingState}`,
      };
    },

    /** Attaches the build to the version, puts the version into a review submission, and submits it. */
    async submitForAppReview(input: AppReviewInput): Promise<{ appStoreVersionId: string; reviewSubmissionId: string; state: string }> {
      const client = asc();
      const before = previous<{ appStoreVersionId: string; reviewSubmissionId: string }>();
      if (before.reviewSubmissionId && before.appStoreVersionId) {
        const current = await storeCall(ASC, 'read the review submission', () => client.reviewSubmission(before.reviewSubmissionId!));
        if (current.state !== 'READY_FOR_REVIEW')
          return { appStoreVersionId: before.appStoreVersionId, reviewSubmissionId: before.reviewSubmissionId, state: current.state };
      }
      const appStoreVersionId = await storeCall(ASC, 'find or create the app store version', () =>
        client.findOrCreateVersion(input.appId, input.version),
      );
      await storeCall(ASC, 'attach the build to the version', () => client.attachBuild(appStoreVersionId, input.buildId));
      const reviewSubmissionId = await storeCall(ASC, 'open a review submission', () => client.openReviewSubmission(input.appId));
      Context.current().heartbeat({ appStoreVersionId, reviewSubmissionId });
      await storeCall(ASC, 'add the version to the review submission', () => client.addReviewItem(reviewSubmissionId, appStoreVersionId));
      const state = await storeCall(ASC, 'submit for review', () => client.submitReview(reviewSubmissionId));
      deps.logger.info('submitted for App Review', { appId: input.appId, reviewSubmissionId, state });
      return { appStoreVersionId, reviewSubmissionId, state };
    },

    async appReviewStatus(input: { reviewSubmissionId: string }): Promise<{ state: string; reason?: string }> {
      return storeCall(ASC, 'read the review submission', () => asc().reviewSubmission(input.reviewSubmissionId));
    },

    /** Cancels a submitted review; a submission the store no longer lets go of is reported, not thrown. */
    async withdrawAppReview(input: { reviewSubmissionId: string }): Promise<{ state: string; withdrawn: boolean }> {
      const client = asc();
      const current = await storeCall(ASC, 'read the review submission', () => client.reviewSubmission(input.reviewSubmissionId));
      if (!['WAITING_FOR_REVIEW', 'IN_REVIEW', 'UNRESOLVED_ISSUES'].includes(current.state))
        return { state: current.state, withdrawn: false };
      const state = await storeCall(ASC, 'cancel the review submission', () => client.cancelReview(input.reviewSubmissionId));
      return { state, withdrawn: true };
    },

    /** edits.insert, bundle upload, tracks.update with the release, edits.commit. */
    async publishToPlay(input: PlayPublishInput): Promise<PlayResult> {
      const client = playClientFrom(config, Context.current().cancellationSignal);
      const pkg = input.packageName;
      const staged = input.rollout !== undefined && input.rollout < 1;
      const status: PlayResult['status'] = !input.submitForReview ? 'draft' : staged ? 'inProgress' : 'completed';
      const editId = await storeCall(PLAY, 'insert an edit', () => client.insertEdit(pkg));
      const published: PlayResult = {
        store: 'google-play',
        packageName: pkg,
        editId,
        versionCode: input.versionCode,
        track: input.track,
        status,
        ...(staged && status !== 'draft' ? { userFraction: input.rollout } : {}),
      };
      const copy = await localCopy(store, jobFileKey(input.jobId, input.artifact.file));
      try {
        try {
          const bundle = await storeCall(
            PLAY,
            'upload the bundle',
            () => client.uploadBundle(pkg, editId, copy.file, copy.size),
            input.versionCode,
          );
          if (bundle.versionCode !== input.versionCode) {
            throw ApplicationFailure.create({
              type: 'BuildNumberMismatch',
              message: `the bundle's versionCode is ${bundle.versionCode}, but the job's buildNumber is ${input.versionCode}: the build must stamp BUILD_NUMBER into the bundle`,
              nonRetryable: true,
            });
          }
        } catch (e) {
          // A retry after a commit whose answer was lost finds its own version code already on the track.
          if (
            activityInfo().attempt > 1 &&
            (await client.track(pkg, editId, input.track).catch(() => [])).some((r) => r.versionCodes.includes(String(input.versionCode)))
          ) {
            await client.deleteEdit(pkg, editId).catch(() => undefined);
            return published;
          }
          throw e;
        }
        const release = {
          name: `${input.versionCode}`,
          versionCodes: [String(input.versionCode)],
          status,
          ...(staged && status !== 'draft' ? { userFraction: input.rollout } : {}),
          ...(input.releaseNotes ? { releaseNotes: [{ language: 'en-US', text: input.releaseNotes }] } : {}),
        };
        await storeCall(PLAY, `update the ${input.track} track`, () => client.updateTrack(pkg, editId, input.track, [release]));
        await storeCall(PLAY, 'commit the edit', () => client.commitEdit(pkg, editId));
      } catch (e) {
        await client.deleteEdit(pkg, editId).catch(() => undefined);
        throw e;
      } finally {
        await copy.done();
      }
      return published;
    },
  };
}
