import { Router } from 'express';
import { z } from 'zod';
import type { PublishingBuildConfig } from '../../activities/publishing-build/config';
import { checkSource, SourceNotAllowed } from '../../activities/publishing-build/source-policy';
import { BlockedTargetError, checkUrl } from '../../net/ssrf-guard';
import { jobFileUrl } from '../../shared/urls';
import { publishingBuild } from '../../workflows/publishing-build';
import {
  PLATFORMS,
  PLAY_TRACKS,
  AppStoreResult,
  PlayResult,
  progressQuery,
  PublishingProgress,
  PUBLISHING_QUEUES,
  PublishingBuildInput,
  PublishingBuildResult,
} from '../../workflows/publishing-build/contract';
import { principalOf } from '../auth';
import type { ApiContext } from '../context';
import { badRequest, HttpError } from '../errors';
import { type JobAccepted, schemaOf } from '../response-schemas';
import { followBuildLog, sendBuildLog } from './publishing-build-log';
import { findJob, jobStartInput } from './job-lookup';
import type { JobTypeApi, JobView } from './job-types';
import { startJob } from './start-job';

const PATH = '/publishing-builds';
const TYPE = 'publishing-build';
/** Google Play's versionCode ceiling; App Store build numbers fit well inside it. */
const MAX_BUILD_NUMBER = 2_100_000_000;

const source = z.union(
  [
    z
      .object(
        {
          git: z.string({ error: 'must be a URL string' }).max(2_000, 'must be at most 2,000 characters'),
          ref: z.string({ error: 'must be a branch or tag name' }).max(200).optional(),
        },
        { error: 'must be an object' },
      )
      .strict(),
    z.object({ path: z.string({ error: 'must be an absolute path' }).max(4_000, 'must be at most 4,000 characters') }).strict(),
  ],
  { error: 'must be {"git": "<https or file URL>", "ref"?: "<branch or tag>"} or {"path": "<absolute path>"}' },
);

const startBody = z
  .object(
    {
      projectId: z
        .string({ error: 'is required (a string)' })
        .trim()
        .min(1, 'must not be empty')
        .max(128, 'must be at most 128 characters')
        .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only')
        .describe('Your project id, carried into the build environment (PROJECT_ID) and the webhook'),
      platform: z
        .enum(PLATFORMS, { error: `must be one of: ${PLATFORMS.join(', ')}` })
        .describe('ios (App Store Connect) or android (Google Play)'),
      source: source.describe(
        '{git: https URL on an allowed host or file:// URL under BUILD_SOURCE_ROOTS, ref?: branch or tag} or {path: directory under BUILD_SOURCE_ROOTS}',
      ),
      version: z
        .string({ error: 'must be a string such as 1.4.0' })
        .regex(/^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/, 'must be MAJOR.MINOR.PATCH, e.g. 1.4.0')
        .describe('CFBundleShortVersionString / versionName'),
      buildNumber: z
        .number({ error: 'must be a positive whole number' })
        .int('must be a whole number')
        .positive('must be positive')
        .max(MAX_BUILD_NUMBER, `must be at most ${MAX_BUILD_NUMBER}`)
        .describe('CFBundleVersion / versionCode; unique per version'),
      track: z
        .enum(PLAY_TRACKS, { error: `must be one of: ${PLAY_TRACKS.join(', ')}` })
        .optional()
        .describe('android only: internal (default), alpha, beta, production'),
      rollout: z
        .number({ error: 'must be a number in (0, 1]' })
        .gt(0, 'must be more than 0')
        .max(1, 'must be at most 1')
        .optional()
        .describe('android only: staged rollout fraction in (0, 1]; 1 = everyone'),
      releaseNotes: z
        .string({ error: 'must be a string' })
        .max(500, 'must be at most 500 characters')
        .optional()
        .describe('android only: en-US release notes'),
      appId: z
        .string({ error: 'must be a string' })
        .trim()
        .min(1)
        .max(200)
        .regex(/^[A-Za-z0-9._]+$/, 'must be an App Store Connect app id or an Android package name')
        .optional()
        .describe('App Store Connect app id (ios) or package name (android); defaults to ASC_APP_ID / PLAY_PACKAGE_NAME'),
      submitForReview: z
        .boolean({ error: 'must be true or false' })
        .default(true)
        .describe('ios: submit to App Review and wait for its decision; android: false uploads a draft release'),
      webhookUrl: z.string({ error: 'must be a URL string' }).optional().describe('Receives a signed job.finished event when the job ends'),
    },
    { error: 'must be a JSON object' },
  )
  .strict()
  .superRefine((body, ctx) => {
    if (body.platform !== 'ios') return;
    for (const field of ['track', 'rollout', 'releaseNotes'] as const) {
      if (body[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'applies to android only' });
    }
  });

const responses = {
  progress: schemaOf<PublishingProgress>()(
    z.object({
      phase: z.enum(['preparing', 'building', 'uploading', 'processing', 'submitting', 'in_review', 'done']),
      attempt: z.number().int().min(1).describe('Build attempt the log lines belong to'),
      logLines: z.number().int().min(0),
      lastLine: z.string().optional(),
      store: z.object({ state: z.string(), updatedAt: z.string() }),
    }),
  ),
  result: z.object({
    status: z.literal('completed'),
    projectId: z.string(),
    platform: z.enum(PLATFORMS),
    version: z.string(),
    buildNumber: z.number().int(),
    artifact: z.object({
      file: z.string(),
      bytes: z.number().int().min(0),
      sha256: z.string(),
      commit: z.string().optional(),
      logLines: z.number().int().min(0),
      downloadUrl: z.url(),
    }),
    log: z.string().describe("The build log's path among the job's files"),
    logUrl: z.url(),
    store: z.union([
      schemaOf<AppStoreResult>()(
        z.object({
          store: z.literal('app-store-connect'),
          appId: z.string(),
          buildUploadId: z.string(),
          buildId: z.string().optional(),
          appStoreVersionId: z.string().optional(),
          reviewSubmissionId: z.string().optional(),
          reviewState: z
            .string()
            .optional()
            .describe('COMPLETE (approved), UNRESOLVED_ISSUES (rejected), or absent when not submitted for review'),
          rejectionReason: z.string().optional(),
        }),
      ),
      schemaOf<PlayResult>()(
        z.object({
          store: z.literal('google-play'),
          packageName: z.string(),
          editId: z.string(),
          versionCode: z.number().int(),
          track: z.enum(PLAY_TRACKS),
          status: z.enum(['completed', 'inProgress', 'draft']),
          userFraction: z.number().optional(),
        }),
      ),
    ]),
  }),
};

export type PublishingBuildRequest = Omit<PublishingBuildInput, 'jobId' | 'timings' | 'buildTimeoutMs'>;

/** Validates a start request against this server's source policy and fills in defaults. */
export function parsePublishingRequest(body: unknown, config: PublishingBuildConfig): PublishingBuildRequest {
  const parsed = startBody.parse(body);
  try {
    checkSource(parsed.source, { allowHosts: config.BUILD_GIT_ALLOW_HOSTS, roots: config.BUILD_SOURCE_ROOTS });
  } catch (e) {
    if (e instanceof SourceNotAllowed) throw badRequest(e.field, e.message);
    throw e;
  }
  if (parsed.webhookUrl !== undefined) {
    try {
      checkUrl(parsed.webhookUrl, { allowHosts: config.OUTBOUND_ALLOW_HOSTS });
    } catch (e) {
      if (e instanceof BlockedTargetError) throw badRequest('webhookUrl', e.message);
      throw e;
    }
  }
  const appId = parsed.appId ?? (parsed.platform === 'ios' ? config.ASC_APP_ID : config.PLAY_PACKAGE_NAME);
  if (!appId)
    throw badRequest(
      'appId',
      `is required for ${parsed.platform} (this server has no ${parsed.platform === 'ios' ? 'ASC_APP_ID' : 'PLAY_PACKAGE_NAME'})`,
    );
  return {
    projectId: parsed.projectId,
    platform: parsed.platform,
    source: parsed.source,
    version: parsed.version,
    buildNumber: parsed.buildNumber,
    appId,
    submitForReview: parsed.submitForReview,
    ...(parsed.platform === 'android' ? { track: parsed.track ?? 'internal' } : {}),
    ...(parsed.rollout !== undefined ? { rollout: parsed.rollout } : {}),
    ...(parsed.releaseNotes !== undefined ? { releaseNotes: parsed.releaseNotes } : {}),
    ...(parsed.webhookUrl !== undefined ? { webhookUrl: parsed.webhookUrl } : {}),
  };
}

export function startPublishingBuild(
  ctx: ApiContext<PublishingBuildConfig>,
  owner: string,
  request: PublishingBuildRequest,
  idempotencyKey?: string,
): Promise<JobAccepted> {
  const c = ctx.config;
  return startJob(ctx, {
    type: TYPE,
    owner,
    idempotencyKey,
    workflow: publishingBuild,
    taskQueue: PUBLISHING_QUEUES.builds,
    request,
    input: (jobId): PublishingBuildInput => ({
      jobId,
      ...request,
      buildTimeoutMs: c.BUILD_TIMEOUT,
      timings: {
        processingPollMs: c.STORE_POLL_INTERVAL,
        processingPollMaxMs: c.STORE_POLL_MAX_INTERVAL,
        processingDeadlineMs: c.STORE_PROCESSING_DEADLINE,
        reviewPollMs: c.REVIEW_POLL_INTERVAL,
        reviewPollMaxMs: c.REVIEW_POLL_MAX_INTERVAL,
        reviewDeadlineMs: c.STORE_REVIEW_DEADLINE,
      },
    }),
  });
}

function presentResult(ctx: ApiContext, job: JobView, raw: unknown): z.output<typeof responses.result> {
  const result = raw as PublishingBuildResult;
  return {
    ...result,
    artifact: { ...result.artifact, downloadUrl: jobFileUrl(ctx.config.publicUrl, job.jobId, result.artifact.file) },
    logUrl: `${ctx.config.publicUrl}/api/v1/jobs/${encodeURIComponent(job.jobId)}/logs`,
  };
}

export const publishingBuildApi: JobTypeApi<PublishingBuildConfig, typeof responses> = {
  responses,
  progressQuery,
  startRoute: {
    path: PATH,
    summary: 'Build an app from its source and submit it to App Store Connect or Google Play',
    body: startBody,
    start: (ctx, owner, body, { idempotencyKey }) =>
      startPublishingBuild(ctx, owner, parsePublishingRequest(body, ctx.config), idempotencyKey),
  },

  router(ctx) {
    const r = Router();
    // The build log as text; ?follow=1 streams new lines until the build step ends.
    r.get('/:jobId/logs', async (req, res) => {
      const job = await findJob(ctx, req.params.jobId, principalOf(res));
      if (job.type !== TYPE) throw new HttpError(404, 'not_found', 'only publishing builds have a build log');
      const follow = req.query.follow === '1' || req.query.follow === 'true';
      if (follow) await followBuildLog(ctx, job, req, res);
      else await sendBuildLog(ctx, job, res);
    });
    return r;
  },

  presentResult,

  /** A failed or cancelled build: a new job with the same input; `?nextBuildNumber=1` bumps the build number. */
  async retry(ctx, job, _who, options) {
    if (job.executionStatus === 'RUNNING') throw new HttpError(409, 'not_retryable', 'the job is still running');
    if (job.executionStatus === 'COMPLETED')
      throw new HttpError(409, 'not_retryable', 'the job completed; start a new one with a higher buildNumber for another build');
    const bump = options?.query.nextBuildNumber;
    if (bump !== undefined && !['0', '1', 'true', 'false'].includes(String(bump))) throw badRequest('nextBuildNumber', 'must be 1 or 0');
    const next = bump === '1' || bump === 'true';
    const input = await jobStartInput<PublishingBuildInput>(ctx, job.jobId);
    const { jobId: _old, timings: _t, buildTimeoutMs: _b, ...request } = input;
    if (next) request.buildNumber += 1;
    return startPublishingBuild(ctx, job.owner, request, `retry-of:${job.jobId}${next ? `:build-${request.buildNumber}` : ''}`);
  },
};
