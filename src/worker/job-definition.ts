import type { WorkerOptions } from '@temporalio/worker';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { ActivityDeps } from '../activities/deps';
import type { JobTypeApi } from '../api/jobs/job-types';
import type { PlatformConfig } from '../config/env';
import type { DesiredSchedule } from '../temporal/schedules';
import { prefixedQueue } from '../shared/task-queues';

// What a job type registers: its workflow, the task queues its workers serve (with their
// activities and tuning), its API module, its env variables and its schedules. Methods (not
// function properties) so each job can narrow the config it reads to its own variables.

type ActivityFunction = (...args: never[]) => Promise<unknown>;

export interface QueueDefinition {
  /** Base task-queue name (a deployment prefix is added in front). */
  name: string;
  activities(deps: ActivityDeps): Record<string, ActivityFunction>;
  /** Per-queue worker tuning; rate limits that must hold across all workers use maxTaskQueueActivitiesPerSecond. */
  options?(config: PlatformConfig): Partial<WorkerOptions>;
}

export interface JobWorker<Env extends z.ZodRawShape = Record<never, never>> {
  /** The job's env variables, merged into the one config schema. */
  env?: z.ZodObject<Env>;
  /** Task queues; the first one is where the job's workflow runs. */
  queues: QueueDefinition[];
  /** Temporal Schedules the job keeps up to date (created by workers serving the job's first queue). */
  schedules?(config: PlatformConfig): DesiredSchedule[];
  /** What the job adds to the worker's metrics (src/activities/<job>/metrics.ts). */
  metrics?: JobMetricsHooks;
  /**
   * Arguments of a typical job: workers replay its workflow's first task before they poll, so
   * the first real job does not pay for compiling the workflow code (see src/worker/workflow-warm-up.ts).
   */
  warmUpArgs?: unknown[];
  /** What `npm start` runs for this job with no configuration (e.g. a provider emulator). */
  localRun?(config: PlatformConfig, tools: LocalRunTools): Promise<LocalRun | undefined>;
}

/** What `npm start` offers a job type's local setup. */
export interface LocalRunTools {
  /** A progress line on the console. */
  say(message: string): void;
  /** The port when it is free, else 0 (any free port). */
  freePortOr(port: number): Promise<number>;
  /** The API's base URL and a key that works there (printed in examples). */
  apiUrl: string;
  apiKey: string;
}

/** A job type's local setup, running until `close`. */
export interface LocalRun {
  /** Variables the worker and API processes get (e.g. a provider's base URL and dev keys). */
  env: Record<string, string>;
  /** Ready-banner lines naming what runs (e.g. an emulator's URL). */
  services: string[];
  /** Ready-banner lines showing how to try the job type (e.g. a curl). */
  examples: string[];
  close(): Promise<void>;
}

/** A job type's part in the worker's Prometheus metrics, observed from outside its workflow and activities. */
export interface JobMetricsHooks {
  /** Items one completed activity processed, by status (e.g. `{succeeded: 48, failed: 2}` URLs of a chunk). */
  itemsProcessed?(activityType: string, args: unknown[], result: unknown): Record<string, number> | undefined;
  /** Registers the job's own metrics; the returned function sees each job of this type that ends with a result. */
  onJobEnd?(registry: Registry): (end: { outcome: string; result: unknown }) => void;
}

export interface JobDefinition<Env extends z.ZodRawShape = Record<never, never>> {
  /** `JobType` search attribute, URL-safe: also the folder name of the job's three homes. */
  type: string;
  /** The workflow function a job of this type starts with. */
  workflow: (...args: never[]) => Promise<unknown>;
  worker: JobWorker<Env>;
  /** Routes and views; absent for job types started only by other workflows or schedules. */
  api?: JobTypeApi;
}

export function defineJob<Env extends z.ZodRawShape>(definition: JobDefinition<Env>): JobDefinition<Env> {
  return definition;
}

/** A job started only by its schedule, on one task queue that runs its workflow and its activities. */
export function scheduledJobWorker<Env extends z.ZodRawShape, Config extends PlatformConfig>(job: {
  env: z.ZodObject<Env>;
  queue: string;
  activities(deps: ActivityDeps): Record<string, ActivityFunction>;
  schedule(config: Config): Omit<DesiredSchedule, 'taskQueue'>;
}): JobWorker<Env> {
  return {
    env: job.env,
    queues: [{ name: job.queue, activities: job.activities }],
    schedules: (config) => [{ ...job.schedule(config as Config), taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, job.queue) }],
  };
}
