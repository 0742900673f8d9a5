import { z } from 'zod';
import { BlockedTargetError, checkUrl } from '../../net/ssrf-guard';
import type { VideoGenerationConfig } from '../../activities/video-generation/config';
import { videoGeneration } from '../../workflows/video-generation';
import { jobFileUrl } from '../../shared/urls';
import {
  PROVIDER_CATALOG,
  progressQuery,
  VIDEO_QUEUES,
  VIDEO_PROVIDERS,
  VideoGenerationInput,
  VideoGenerationResult,
  VideoProgress,
  VideoProviderName,
  VideoRequest,
} from '../../workflows/video-generation/contract';
import type { ApiContext } from '../context';
import { badRequest, HttpError } from '../errors';
import { type JobAccepted, schemaOf } from '../response-schemas';
import { jobStartInput } from './job-lookup';
import type { JobTypeApi, JobView } from './job-types';
import { priorityField, startJob } from './start-job';

const PATH = '/video-generations';
const MAX_PROMPT = 4_000;

const list = (values: readonly (string | number)[]) => values.map(String).join(', ');

const startBody = z
  .object(
    {
      prompt: z
        .string({ error: 'must be a string' })
        .trim()
        .min(1, 'must not be empty')
        .max(MAX_PROMPT, `must be at most ${MAX_PROMPT.toLocaleString('en')} characters`)
        .describe('What the video shows (1–4,000 characters)'),
      provider: z
        .enum(VIDEO_PROVIDERS, { error: `must be one of: ${VIDEO_PROVIDERS.join(', ')}` })
        .default('emulator')
        .describe('sora (OpenAI), veo (Google Gemini API) or emulator (the bundled provider emulator, OpenAI-shaped)'),
      model: z
        .string({ error: 'must be a string' })
        .optional()
        .describe('sora/emulator: sora-2 (default), sora-2-pro; veo: veo-3.1-generate-preview (default), veo-3.1-fast-generate-preview'),
      seconds: z.coerce
        .number({ error: 'must be a number of seconds' })
        .int('must be a whole number of seconds')
        .optional()
        .describe('sora/emulator: 4 (default), 8, 12; veo: 4, 6, 8 (default; 1080p and 4k need 8)'),
      size: z
        .string({ error: 'must be a string such as 1280x720' })
        .optional()
        .describe('sora/emulator only: 720x1280 (default), 1280x720; sora-2-pro also 1024x1792, 1792x1024'),
      aspectRatio: z.string({ error: 'must be a string such as 16:9' }).optional().describe('veo only: 16:9 (default), 9:16'),
      resolution: z.string({ error: 'must be a string such as 720p' }).optional().describe('veo only: 720p (default), 1080p, 4k'),
      webhookUrl: z
        .string({ error: 'must be a URL string' })
        .optional()
        .describe('Receives a signed job.completed, job.failed or job.cancelled event when the job ends'),
      priority: priorityField,
    },
    { error: 'must be a JSON object' },
  )
  .strict()
  .superRefine((body, ctx) => {
    // Each provider accepts its own values; say which ones, on the field that is wrong.
    const catalog = PROVIDER_CATALOG[body.provider];
    const bad = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
    const model = body.model ?? catalog.models[0];
    if (!catalog.models.includes(model)) bad('model', `${body.provider} accepts ${list(catalog.models)}`);
    if (body.seconds !== undefined && !catalog.seconds.includes(body.seconds))
      bad('seconds', `${body.provider} accepts ${list([...catalog.seconds].sort((a, b) => a - b))}`);
    if (catalog.sizesByModel) {
      for (const field of ['aspectRatio', 'resolution'] as const) {
        if (body[field] !== undefined)
          bad(field, `${body.provider} does not take ${field}; use size (${list(catalog.sizesByModel[catalog.models[0]])})`);
      }
      const sizes = catalog.sizesByModel[model];
      if (body.size !== undefined && sizes && !sizes.includes(body.size)) bad('size', `${model} accepts ${list(sizes)}`);
    } else {
      if (body.size !== undefined)
        bad(
          'size',
          `${body.provider} does not take size; use aspectRatio (${list(catalog.aspectRatios!)}) and resolution (${list(catalog.resolutions!)})`,
        );
      if (body.aspectRatio !== undefined && !catalog.aspectRatios!.includes(body.aspectRatio))
        bad('aspectRatio', `${body.provider} accepts ${list(catalog.aspectRatios!)}`);
      if (body.resolution !== undefined && !catalog.resolutions!.includes(body.resolution))
        bad('resolution', `${body.provider} accepts ${list(catalog.resolutions!)}`);
      const seconds = body.seconds ?? catalog.seconds[0];
      if (body.resolution && catalog.resolutionsNeedingEightSeconds!.includes(body.resolution) && seconds !== 8) {
        bad('seconds', `${body.provider} makes ${body.resolution} videos of 8 seconds only`);
      }
    }
  });

const provider = z.enum(VIDEO_PROVIDERS);
const responses = {
  progress: schemaOf<VideoProgress>()(
    z.object({
      phase: z.enum(['waiting_for_slot', 'starting', 'generating', 'downloading', 'finishing', 'done']),
      percent: z.number().min(0).max(100),
      provider,
      providerJobId: z.string().optional(),
      providerStatus: z.enum(['queued', 'in_progress', 'completed', 'failed']).optional(),
      polls: z.number().int().min(0),
    }),
  ),
  result: schemaOf<VideoGenerationResult>()(
    z.object({
      status: z.literal('completed'),
      provider,
      providerJobId: z.string(),
      model: z.string(),
      seconds: z.number(),
      bytes: z.number().int().min(0),
      file: z.string().describe("The video's path among the job's files"),
      downloadUrl: z.url(),
    }),
  ),
};

export interface VideoGenerationRequest {
  provider: VideoProviderName;
  request: VideoRequest;
  webhookUrl?: string;
  priority?: number;
}

/** Validates a start request and fills in each provider's defaults. */
export function parseVideoRequest(body: unknown, allowHosts: string[]): VideoGenerationRequest {
  const parsed = startBody.parse(body);
  if (parsed.webhookUrl !== undefined) {
    try {
      checkUrl(parsed.webhookUrl, { allowHosts });
    } catch (e) {
      if (e instanceof BlockedTargetError) throw badRequest('webhookUrl', e.message);
      throw e;
    }
  }
  const catalog = PROVIDER_CATALOG[parsed.provider];
  const model = parsed.model ?? catalog.models[0];
  const request: VideoRequest = { prompt: parsed.prompt, model, seconds: parsed.seconds ?? catalog.seconds[0] };
  if (catalog.sizesByModel) request.size = parsed.size ?? catalog.sizesByModel[model][0];
  else {
    request.aspectRatio = parsed.aspectRatio ?? catalog.aspectRatios![0];
    request.resolution = parsed.resolution ?? catalog.resolutions![0];
  }
  return {
    provider: parsed.provider,
    request,
    ...(parsed.webhookUrl ? { webhookUrl: parsed.webhookUrl } : {}),
    ...(parsed.priority !== undefined ? { priority: parsed.priority } : {}),
  };
}

const excerpt = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function startVideoGeneration(
  ctx: ApiContext<VideoGenerationConfig>,
  owner: string,
  request: VideoGenerationRequest,
  idempotencyKey?: string,
  replayOf?: string,
): Promise<JobAccepted> {
  const { priority, ...settings } = request;
  const r = request.request;
  return startJob(ctx, {
    type: 'video-generation',
    owner,
    idempotencyKey,
    priority,
    replayOf,
    summary:
      `Video generation · ${request.provider} ${r.model} · ${r.seconds} s ${r.size ?? [r.aspectRatio, r.resolution].filter(Boolean).join(' ')}`.trim(),
    details: [`**Prompt** ${excerpt(r.prompt.replace(/\s+/g, ' '), 500)}`, replayOf ? `**Replay of** ${replayOf}` : '']
      .filter(Boolean)
      .join('\n\n'),
    workflow: videoGeneration,
    taskQueue: VIDEO_QUEUES.video,
    request,
    input: (jobId): VideoGenerationInput => ({
      jobId,
      ...settings,
      polling: {
        intervalMs: ctx.config.VIDEO_POLL_INTERVAL,
        maxIntervalMs: ctx.config.VIDEO_POLL_MAX_INTERVAL,
        deadlineMs: ctx.config.VIDEO_POLL_DEADLINE,
      },
      maxInFlight: ctx.config.VIDEO_MAX_IN_FLIGHT,
    }),
  });
}

function presentResult(ctx: ApiContext<VideoGenerationConfig>, job: JobView, raw: unknown): VideoGenerationResult {
  const result = raw as VideoGenerationResult;
  return { ...result, downloadUrl: jobFileUrl(ctx.config.publicUrl, job.jobId, result.file) };
}

/** The start request (as a client would send it) that reproduces a job's generation. */
async function requestOf(ctx: ApiContext<VideoGenerationConfig>, jobId: string): Promise<Record<string, unknown>> {
  const input = await jobStartInput<VideoGenerationInput>(ctx, jobId);
  return { provider: input.provider, ...input.request, ...(input.webhookUrl ? { webhookUrl: input.webhookUrl } : {}) };
}

/** The start route and admin replay: validates a start request with this type's schema and starts the job. */
function startFromBody(
  ctx: ApiContext<VideoGenerationConfig>,
  owner: string,
  body: unknown,
  options: { idempotencyKey?: string; replayOf?: string },
): Promise<JobAccepted> {
  return startVideoGeneration(
    ctx,
    owner,
    parseVideoRequest(body, ctx.config.OUTBOUND_ALLOW_HOSTS),
    options.idempotencyKey,
    options.replayOf,
  );
}

export const videoGenerationApi: JobTypeApi<VideoGenerationConfig, typeof responses> = {
  responses,
  progressQuery,
  startRoute: { path: PATH, summary: 'Generate a video with Sora, Veo or the bundled emulator', body: startBody, start: startFromBody },
  replay: { requestOf },
  presentResult,

  /** A failed or cancelled job: a new job (new generation) with the same input. Retrying the same job again returns that new job. */
  async retry(ctx, job) {
    if (job.executionStatus === 'RUNNING') throw new HttpError(409, 'not_retryable', 'the job is still running');
    if (job.executionStatus === 'COMPLETED')
      throw new HttpError(409, 'not_retryable', 'the job completed; start a new one for another video');
    const input = await jobStartInput<VideoGenerationInput>(ctx, job.jobId);
    const request: VideoGenerationRequest = {
      provider: input.provider,
      request: input.request,
      ...(input.webhookUrl ? { webhookUrl: input.webhookUrl } : {}),
    };
    return startVideoGeneration(ctx, job.owner, request, `retry-of:${job.jobId}`);
  },
};
