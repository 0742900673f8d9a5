import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import { storeUrlManifest } from '../../activities/bulk-conversion/manifest';
import { BlockedTargetError, checkUrl, OutboundPolicy } from '../../net/ssrf-guard';
import type { BulkConversionConfig } from '../../activities/bulk-conversion/config';
import { bulkConversion } from '../../workflows/bulk-conversion';
import {
  BULK_CONVERSION_LIMITS as LIMITS,
  BULK_CONVERSION_QUEUE,
  BulkConversionInput,
  BulkConversionProgress,
  progressQuery,
  BulkConversionResult,
  PublicUrlResult,
  RESULTS_PATH,
  retryFailedUpdate,
} from '../../workflows/bulk-conversion/contract';
import { CONVERSION_FORMATS, ConversionFormat } from '../../workflows/bulk-conversion/formats';
import { jobFileKey, jobFileUrl } from '../../shared/urls';
import { JOB_OUTCOMES } from '../../shared/jobs';
import { BlobNotFoundError } from '../../storage/blob-store';
import { readJsonLines } from '../../storage/json-lines';
import type { ApiContext } from '../context';
import { badRequest, FieldProblem, HttpError } from '../errors';
import { type JobAccepted, schemaOf } from '../response-schemas';
import { jobStartInput } from './job-lookup';
import type { JobTypeApi, JobView } from './job-types';
import { existingJobAccepted, priorityField, startJob } from './start-job';

const PATH = '/bulk-conversions';
/** Enough field problems to fix a list without an error body as long as the list itself. */
const MAX_URL_PROBLEMS = 20;

const startBody = z
  .object(
    {
      urls: z
        .array(z.unknown(), { error: (issue) => (issue.input === undefined ? 'is required' : 'must be an array of URL strings') })
        .min(1, 'must contain at least one URL')
        .max(LIMITS.maxUrls, `must contain at most ${LIMITS.maxUrls.toLocaleString('en')} URLs`),
      format: z.enum(CONVERSION_FORMATS, { error: `must be one of: ${CONVERSION_FORMATS.join(', ')}` }).default('h5p'),
      webhookUrl: z.string({ error: 'must be a URL string' }).optional(),
      concurrency: z
        .number({ error: 'must be an integer' })
        .int('must be an integer')
        .min(1, 'must be at least 1')
        .max(LIMITS.maxConcurrency, `must be at most ${LIMITS.maxConcurrency}`)
        .default(LIMITS.defaultConcurrency),
      priority: priorityField,
    },
    { error: 'must be a JSON object' },
  )
  .strict();

interface BulkConversionRequest {
  urls: string[];
  format: ConversionFormat;
  webhookUrl?: string;
  concurrency: number;
  priority?: number;
}

const count = z.number().int().min(0);
const responses = {
  progress: schemaOf<BulkConversionProgress>()(
    z.object({ total: count, succeeded: count, failed: count, inFlight: count, pending: count }),
  ),
  result: z.object({
    status: z.enum(JOB_OUTCOMES),
    format: z.enum(CONVERSION_FORMATS),
    total: count,
    succeeded: count,
    failed: count,
    cancelled: count.describe('URLs a cancelled job never converted'),
    successRate: z.number().min(0).max(1).describe('succeeded ÷ total'),
    resultsUrl: z.url().describe("Every URL's result as JSON lines"),
    results: z
      .array(
        schemaOf<PublicUrlResult>()(
          z.object({
            index: count,
            url: z.string(),
            status: z.enum(['success', 'failed', 'cancelled']),
            downloadUrl: z.url().optional(),
            artifactPath: z.string().optional(),
            title: z.string().optional(),
            error: z.string().optional(),
          }),
        ),
      )
      .optional()
      .describe(`Per-URL results of a job of at most ${LIMITS.maxInlineResults} URLs`),
  }),
  fields: z.object({ resultsUrl: z.url().optional().describe("A cancelled or failed job's results file, when it wrote one") }),
};

/** Why a URL cannot be converted, or undefined when it may be. Obvious SSRF targets are refused here; names are checked again after DNS at fetch time. */
function urlProblem(value: unknown, policy: OutboundPolicy): string | undefined {
  if (typeof value !== 'string') return 'must be a URL string';
  if (value.length > LIMITS.maxUrlLength) return `must be at most ${LIMITS.maxUrlLength} characters`;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return 'is not a valid URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `must be an http or https URL, not ${parsed.protocol}`;
  try {
    checkUrl(value, policy);
  } catch (e) {
    if (e instanceof BlockedTargetError) return e.message;
    throw e;
  }
  return undefined;
}

export function parseStartBody(body: unknown, policy: OutboundPolicy): BulkConversionRequest {
  const parsed = startBody.parse(body);
  const problems: FieldProblem[] = [];
  let invalid = 0;
  parsed.urls.forEach((value, i) => {
    const problem = urlProblem(value, policy);
    if (!problem) return;
    invalid += 1;
    if (problems.length < MAX_URL_PROBLEMS) problems.push({ field: `urls.${i}`, message: problem });
  });
  if (problems.length) {
    const more = invalid > problems.length ? `; ${invalid - problems.length} more invalid URLs not listed` : '';
    throw new HttpError(400, 'validation_failed', `${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}${more}`, problems);
  }
  if (parsed.webhookUrl !== undefined) {
    const problem = urlProblem(parsed.webhookUrl, policy);
    if (problem) throw badRequest('webhookUrl', problem);
  }
  return { ...parsed, urls: parsed.urls as string[] };
}

/** Lists too long or too large for a workflow payload (2 MB at most) go to storage; the workflow gets their key. */
function passByReference(urls: string[]): boolean {
  if (urls.length > LIMITS.maxInlineUrls) return true;
  let bytes = 0;
  for (const u of urls) bytes += Buffer.byteLength(u) + 3;
  return bytes > LIMITS.maxInlineUrlBytes;
}

/** Where the URLs of a list come from, for Temporal Web: the host when they share one, else how many hosts. */
function hostsOf(urls: string[]): string {
  const hosts = new Set<string>();
  for (const u of urls) {
    hosts.add(new URL(u).host);
    if (hosts.size > 3) return `${hosts.size}+ hosts`;
  }
  return [...hosts].join(', ');
}

/** Starts a bulk job; large lists are stored as the job's manifest and passed by reference. */
export function startBulkConversion(
  ctx: ApiContext<BulkConversionConfig>,
  owner: string,
  request: BulkConversionRequest,
  idempotencyKey?: string,
  replayOf?: string,
): Promise<JobAccepted> {
  const count = request.urls.length;
  return startJob(ctx, {
    type: 'bulk-conversion',
    owner,
    idempotencyKey,
    priority: request.priority,
    replayOf,
    summary: `Bulk conversion · ${count.toLocaleString('en')} URL${count === 1 ? '' : 's'} → ${request.format}`,
    details: [
      `**Format** ${request.format} · **concurrency** ${request.concurrency}`,
      `**Sources** ${hostsOf(request.urls)}`,
      request.webhookUrl ? `**Webhook** ${new URL(request.webhookUrl).host}` : '',
      replayOf ? `**Replay of** ${replayOf}` : '',
    ]
      .filter(Boolean)
      .join('\n\n'),
    workflow: bulkConversion,
    taskQueue: BULK_CONVERSION_QUEUE,
    request,
    input: async (jobId, requestHash): Promise<BulkConversionInput> => ({
      jobId,
      owner,
      format: request.format,
      concurrency: request.concurrency,
      ...(request.webhookUrl ? { webhookUrl: request.webhookUrl } : {}),
      source: passByReference(request.urls) ? await storeUrlManifest(ctx.store, jobId, requestHash, request.urls) : { urls: request.urls },
    }),
  });
}

function presentResult(ctx: ApiContext<BulkConversionConfig>, job: JobView, raw: unknown): z.output<typeof responses.result> {
  const result = raw as BulkConversionResult;
  const link = (path: string) => jobFileUrl(ctx.config.publicUrl, job.jobId, path);
  return {
    status: result.status,
    format: result.format,
    total: result.total,
    succeeded: result.succeeded,
    failed: result.failed,
    cancelled: result.cancelled,
    successRate: result.successRate,
    resultsUrl: link(result.resultsPath),
    ...(result.results
      ? {
          results: result.results.map((r): PublicUrlResult => ({
            index: r.index,
            url: r.url,
            status: r.status,
            ...(r.artifactPath ? { downloadUrl: link(r.artifactPath) } : {}),
            ...(r.title !== undefined ? { title: r.title } : {}),
            ...(r.error !== undefined ? { error: r.error } : {}),
          })),
        }
      : {}),
  };
}

/** After the end: a new job over the URLs that failed (or were never reached). Retrying the same job again returns that same new job. */
async function retryEnded(ctx: ApiContext<BulkConversionConfig>, job: JobView): Promise<JobAccepted> {
  const retryKey = `retry-of:${job.jobId}`;
  const earlier = await existingJobAccepted(ctx, 'bulk-conversion', job.owner, retryKey);
  if (earlier) return earlier;
  const failed: string[] = [];
  try {
    for await (const r of readJsonLines<PublicUrlResult>(ctx.store, jobFileKey(job.jobId, RESULTS_PATH))) {
      if (r.status !== 'success') failed.push(r.url);
    }
  } catch (e) {
    if (e instanceof BlobNotFoundError) throw new HttpError(409, 'not_retryable', 'the job recorded no per-URL results to retry');
    throw e;
  }
  if (!failed.length) throw new HttpError(409, 'nothing_to_retry', 'every URL of this job was converted');
  const settings = await jobStartInput<BulkConversionInput>(ctx, job.jobId);
  const request: BulkConversionRequest = {
    urls: failed,
    format: settings.format,
    concurrency: settings.concurrency ?? LIMITS.defaultConcurrency,
    webhookUrl: settings.webhookUrl,
  };
  return startBulkConversion(ctx, job.owner, request, retryKey);
}

/** The start request that reproduces a job: its settings and every URL it was given (read back from the manifest for large lists). */
async function requestOf(ctx: ApiContext<BulkConversionConfig>, jobId: string): Promise<BulkConversionRequest> {
  const input = await jobStartInput<BulkConversionInput>(ctx, jobId);
  let urls: string[];
  if ('urls' in input.source) urls = input.source.urls;
  else {
    urls = [];
    try {
      for await (const url of readJsonLines<string>(ctx.store, jobFileKey(jobId, input.source.manifestPath))) urls.push(url);
    } catch (e) {
      if (e instanceof BlobNotFoundError) throw new HttpError(409, 'not_replayable', "the job's URL list is no longer stored");
      throw e;
    }
  }
  return {
    urls,
    format: input.format,
    concurrency: input.concurrency ?? LIMITS.defaultConcurrency,
    ...(input.webhookUrl ? { webhookUrl: input.webhookUrl } : {}),
  };
}

/** The start route and admin replay: validates a start request with this type's schema and starts the job. */
function startFromBody(
  ctx: ApiContext<BulkConversionConfig>,
  owner: string,
  body: unknown,
  options: { idempotencyKey?: string; replayOf?: string },
): Promise<JobAccepted> {
  return startBulkConversion(
    ctx,
    owner,
    parseStartBody(body, { allowHosts: ctx.config.OUTBOUND_ALLOW_HOSTS }),
    options.idempotencyKey,
    options.replayOf,
  );
}

export const bulkConversionApi: JobTypeApi<BulkConversionConfig, typeof responses> = {
  responses,
  progressQuery,
  largeBody: { path: PATH, limit: (ctx) => ctx.config.BULK_CONVERSION_BODY_LIMIT },
  startRoute: { path: PATH, summary: 'Convert a list of URLs to H5P packages or Markdown', body: startBody, start: startFromBody },
  replay: { requestOf },
  presentResult,

  /** A cancelled job has no workflow result, but its results file lists what was converted. */
  async extraFields(ctx, job) {
    if (job.executionStatus === 'RUNNING' || job.executionStatus === 'COMPLETED') return {};
    const stored = await ctx.store.stat(jobFileKey(job.jobId, RESULTS_PATH)).catch(() => null);
    return stored ? { resultsUrl: jobFileUrl(ctx.config.publicUrl, job.jobId, RESULTS_PATH) } : {};
  },

  async retry(ctx, job) {
    if (job.executionStatus === 'RUNNING') {
      try {
        const { retrying } = await job.handle.executeUpdate(retryFailedUpdate);
        return { jobId: job.jobId, status: 'retrying', retrying };
      } catch (e) {
        if (e instanceof WorkflowUpdateFailedError)
          throw new HttpError(409, 'nothing_to_retry', `nothing to retry: ${e.cause?.message ?? e.message}`);
        // The job ended between the status check and the update: retry it as an ended job.
        if (!(e instanceof WorkflowNotFoundError)) throw e;
      }
    }
    return retryEnded(ctx, job);
  },
};
