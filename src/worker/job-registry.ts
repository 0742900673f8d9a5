import { z } from 'zod';
import type { AppConfig } from '../config/env';
import { int } from '../config/schema';
import { DEFAULT_PRIORITY, HIGHEST_PRIORITY, LOWEST_PRIORITY, priorityVariable } from '../shared/priority';
import { bulkConversionWorker } from '../activities/bulk-conversion';
import { publishingBuildWorker } from '../activities/publishing-build';
import { jobOutcomesWorker } from '../activities/job-outcomes';
import { storageCleanupWorker } from '../activities/storage-cleanup';
import { videoGenerationWorker } from '../activities/video-generation';
import { webhookDeliveryWorker } from '../activities/webhook-delivery';
import { bulkConversionApi } from '../api/jobs/bulk-conversion';
import { publishingBuildApi } from '../api/jobs/publishing-build';
import { storageCleanupApi } from '../api/jobs/storage-cleanup';
import { videoGenerationApi } from '../api/jobs/video-generation';
import { webhookDeliveryApi } from '../api/jobs/webhook-delivery';
import { bulkConversion } from '../workflows/bulk-conversion';
import { publishingBuild } from '../workflows/publishing-build';
import { jobOutcomesSweep } from '../workflows/job-outcomes';
import { storageCleanup } from '../workflows/storage-cleanup';
import { videoGeneration } from '../workflows/video-generation';
import { webhookDelivery } from '../workflows/webhook-delivery';
import { defineJob, type JobDefinition } from './job-definition';

// Every job type, one line each. The worker, the API router, the OpenAPI document, readiness,
// the admin views and the config schema iterate this list; a job type's code lives in its
// three homes: src/workflows/<type>/, src/activities/<type>/, src/api/jobs/<type>.ts.
export const JOBS = [
  defineJob({ type: 'bulk-conversion', workflow: bulkConversion, worker: bulkConversionWorker, api: bulkConversionApi }),
  defineJob({ type: 'video-generation', workflow: videoGeneration, worker: videoGenerationWorker, api: videoGenerationApi }),
  defineJob({ type: 'webhook-delivery', workflow: webhookDelivery, worker: webhookDeliveryWorker, api: webhookDeliveryApi }),
  defineJob({ type: 'publishing-build', workflow: publishingBuild, worker: publishingBuildWorker, api: publishingBuildApi }),
  defineJob({ type: 'storage-cleanup', workflow: storageCleanup, worker: storageCleanupWorker, api: storageCleanupApi }),
  defineJob({ type: 'job-outcomes', workflow: jobOutcomesSweep, worker: jobOutcomesWorker }),
] as const;

type EnvShapeOf<J> = J extends JobDefinition<infer Shape> ? Shape : never;
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** Every job type's env variables in one zod object, merged into the config schema. */
export const JOB_ENV = z.object(
  Object.assign({}, ...JOBS.map((j) => j.worker.env?.shape ?? {})) as Intersection<EnvShapeOf<(typeof JOBS)[number]>>,
);

export function jobDefinition(type: string): JobDefinition | undefined {
  return (JOBS as readonly JobDefinition[]).find((j) => j.type === type);
}

/** Types users start through the API (they carry the JobType search attribute). */
export const STARTABLE_JOB_TYPES: string[] = JOBS.filter((j) => j.api?.startRoute).map((j) => j.type);

/** Every task queue's base name, in registry order. */
export const ALL_TASK_QUEUES: string[] = JOBS.flatMap((j) => j.worker.queues.map((q) => q.name));

/**
 * `JOB_PRIORITY_<TYPE>` for every startable type: the priority its jobs get when a start request
 * names none. Typed without keys (they are read through defaultPriority(), by name).
 */
export const JOB_PRIORITY_ENV = z.object(
  Object.fromEntries(STARTABLE_JOB_TYPES.map((type) => [priorityVariable(type), int(DEFAULT_PRIORITY, HIGHEST_PRIORITY, LOWEST_PRIORITY)])),
) as unknown as z.ZodObject<Record<never, never>>;

/** Queues with a server-side rate limit: they need one partition for the limit to hold exactly. */
export function rateLimitedQueues(config: AppConfig): string[] {
  return JOBS.flatMap((j) => j.worker.queues)
    .filter((q) => q.options?.(config).maxTaskQueueActivitiesPerSecond !== undefined)
    .map((q) => q.name);
}
