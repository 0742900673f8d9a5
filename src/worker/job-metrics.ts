import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import { Counter, Histogram, Registry } from 'prom-client';
import type { JobEnd, JobMetricsSinks } from '../observability/job-end-interceptor';
import { JOB_DURATION_BUCKETS, METRIC_PREFIX } from '../observability/metrics';
import type { JobDefinition } from './job-definition';
import { JOBS } from './job-registry';

type Observer = (end: { outcome: string; result: unknown }) => void;

/**
 * The worker's job metrics: starts and ends reported by the job-end workflow interceptor
 * (through sinks, never during replay), items counted from completed activities by each
 * job type's hooks. Labels are job types from the registry, never owners or ids.
 */
export class WorkerJobMetrics {
  private readonly started: Counter<'type'>;
  private readonly finished: Counter<'type' | 'outcome'>;
  private readonly duration: Histogram<'type' | 'outcome'>;
  private readonly items: Counter<'type' | 'status'>;
  private readonly observers = new Map<string, Observer>();

  constructor(readonly registry: Registry) {
    this.started = new Counter({
      name: `${METRIC_PREFIX}jobs_started_total`,
      help: 'Jobs a worker started running, by job type',
      labelNames: ['type'],
      registers: [registry],
    });
    this.finished = new Counter({
      name: `${METRIC_PREFIX}jobs_finished_total`,
      help: 'Jobs that ended, by job type and outcome (completed, completed_with_errors, failed, cancelled)',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: `${METRIC_PREFIX}job_duration_seconds`,
      help: 'Time from a job start to its end, by job type and outcome',
      labelNames: ['type', 'outcome'],
      buckets: JOB_DURATION_BUCKETS,
      registers: [registry],
    });
    this.items = new Counter({
      name: `${METRIC_PREFIX}items_processed_total`,
      help: 'Items jobs processed (URLs of a bulk conversion), by job type and status',
      labelNames: ['type', 'status'],
      registers: [registry],
    });
    for (const job of JOBS as readonly JobDefinition[]) {
      const observer = job.worker.metrics?.onJobEnd?.(registry);
      if (observer) this.observers.set(job.type, observer);
    }
  }

  /** The job type of a workflow: its JobType search attribute, else the registry entry whose workflow it is. */
  private typeOf(info: WorkflowInfo, jobType: string | undefined): string | undefined {
    return jobType ?? (JOBS as readonly JobDefinition[]).find((j) => j.workflow.name === info.workflowType)?.type;
  }

  /** Sinks the job-end interceptor calls; register them on every Worker. */
  sinks(): InjectedSinks<JobMetricsSinks> {
    return {
      jobMetrics: {
        started: {
          fn: (info, jobType) => {
            const type = this.typeOf(info, jobType);
            if (type) this.started.inc({ type });
          },
        },
        ended: {
          fn: (info, end: JobEnd) => {
            const type = this.typeOf(info, end.jobType);
            if (!type) return;
            this.finished.inc({ type, outcome: end.outcome });
            this.duration.observe({ type, outcome: end.outcome }, Math.max(0, Date.now() - info.startTime.getTime()) / 1000);
            this.observers.get(type)?.({ outcome: end.outcome, result: end.result });
          },
        },
      },
    };
  }

  /** Counts the items each completed activity of `jobType` processed, through that job's hook. */
  activityInterceptor(jobType: string): ActivityInterceptorsFactory | undefined {
    const count = (JOBS as readonly JobDefinition[]).find((j) => j.type === jobType)?.worker.metrics?.itemsProcessed;
    if (!count) return undefined;
    return (ctx) => ({
      inbound: {
        execute: async (input, next) => {
          const result = await next(input);
          try {
            for (const [status, n] of Object.entries(count(ctx.info.activityType, input.args, result) ?? {}))
              if (n > 0) this.items.inc({ type: jobType, status }, n);
          } catch {
            // A counting hook never fails the work it counts.
          }
          return result;
        },
      },
    });
  }
}

/** Sinks for replay workers (Worker.runReplayHistories): every bundle calls them, a replay never counts. */
export function replayJobMetricsSinks(): InjectedSinks<JobMetricsSinks> {
  return new WorkerJobMetrics(new Registry()).sinks();
}
