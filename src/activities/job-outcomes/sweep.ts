import { Context } from '@temporalio/activity';
import type { temporal } from '@temporalio/proto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { findJob } from '../../api/jobs/job-lookup';
import { jobStatusBody } from '../../api/jobs/job-status';
import type { ApiContext } from '../../api/context';
import { jobStatusUrl, temporalUiUrl } from '../../shared/urls';
import { HttpError } from '../../api/errors';
import { failureQuery, isFailure, jobScopeClauses, JobFailure, statusName, toJobFailure } from '../../temporal/job-failures';
import { isoTime } from '../../temporal/timestamps';
import { readJobRecord, writeJobRecord } from '../../storage/job-records';
import { failureRateAlertId, jobFailedAlertId, JobOutcomesSweepResult } from '../../workflows/job-outcomes/contract';
import type { ActivityDeps } from '../deps';
import { AlertTarget, failureRateEvent, jobFailedEvent, sendAlert } from './alerts';

const CHECKPOINT_KEY = 'ops/job-outcomes/checkpoint.json';
/** Each pass looks this far behind the previous one, for rows visibility indexed late. */
const OVERLAP_MS = 30_000;
/** Jobs closed in the last moment are left to the next pass, for the same reason. */
const VISIBILITY_LAG_MS = 1_000;
const PAGE_SIZE = 100;

const ADMIN = { owner: 'job-outcomes', role: 'admin' } as const;

interface Checkpoint {
  through: string;
}

export function createSweepActivity(deps: ActivityDeps) {
  const config = deps.config;
  const prefix = config.TASK_QUEUE_PREFIX;
  const ns = config.TEMPORAL_NAMESPACE;

  async function readCheckpoint(): Promise<Date | undefined> {
    try {
      const c = JSON.parse((await deps.store.getBuffer(CHECKPOINT_KEY)).toString('utf8')) as Checkpoint;
      const d = new Date(c.through);
      return Number.isNaN(d.getTime()) ? undefined : d;
    } catch {
      return undefined;
    }
  }

  return {
    /**
     * Every job that closed since the last pass: writes its record (unless one for this close is
     * there) and, when it failed, a `job.failed` alert; then a `jobs.failure_rate` alert for each
     * type whose failures in the current ALERT_WINDOW exceed ALERT_FAILURE_THRESHOLD.
     */
    async sweepJobOutcomes(): Promise<JobOutcomesSweepResult> {
      const ctx = Context.current();
      const client = ctx.client;
      const api: ApiContext = { config, client, store: deps.store, logger: deps.logger };
      const now = deps.now().getTime();
      const from = new Date(((await readCheckpoint())?.getTime() ?? now - config.ALERT_WINDOW) - OVERLAP_MS);
      const through = new Date(now - VISIBILITY_LAG_MS);
      const alerts: AlertTarget | undefined = config.ALERT_WEBHOOK_URL ? { client, prefix, url: config.ALERT_WEBHOOK_URL } : undefined;
      const result: JobOutcomesSweepResult = {
        jobsSeen: 0,
        recordsWritten: 0,
        failures: 0,
        jobAlerts: 0,
        rateAlerts: 0,
        through: through.toISOString(),
      };
      const failedTypes = new Set<string>();

      const query = [
        ...jobScopeClauses(prefix),
        `ExecutionStatus != "Running"`,
        `ExecutionStatus != "ContinuedAsNew"`,
        `CloseTime >= "${from.toISOString()}"`,
        `CloseTime < "${through.toISOString()}"`,
      ].join(' AND ');
      let token: Uint8Array | undefined;
      do {
        const page = await client.workflowService.listWorkflowExecutions({
          namespace: ns,
          pageSize: PAGE_SIZE,
          nextPageToken: token,
          query,
        });
        for (const info of page.executions ?? []) {
          result.jobsSeen += 1;
          const failure = isFailure(info) ? await toJobFailure(client, ns, info) : undefined;
          if (await recordJob(api, info, failure)) result.recordsWritten += 1;
          if (failure) {
            result.failures += 1;
            failedTypes.add(failure.type);
            const links = {
              statusUrl: jobStatusUrl(config.publicUrl, failure.jobId),
              temporalUiUrl: temporalUiUrl(config.TEMPORAL_UI_URL, ns, failure.jobId),
            };
            if (alerts && (await sendAlert(alerts, jobFailedAlertId(failure.jobId), jobFailedEvent(failure, links), failure.jobId))) {
              result.jobAlerts += 1;
              deps.logger.warn('job failed: alert raised', { jobId: failure.jobId, type: failure.type, class: failure.class });
            }
          }
          ctx.heartbeat(result);
        }
        token = page.nextPageToken?.length ? page.nextPageToken : undefined;
      } while (token);

      // Tumbling windows aligned to the epoch: one alert per type and window at most.
      const windowStart = new Date(Math.floor(now / config.ALERT_WINDOW) * config.ALERT_WINDOW);
      for (const type of alerts ? failedTypes : []) {
        const { count } = await client.workflow.count(failureQuery(prefix, { type, from: windowStart }));
        if (count <= config.ALERT_FAILURE_THRESHOLD) continue;
        const event = failureRateEvent(type, count, config.ALERT_FAILURE_THRESHOLD, windowStart, config.ALERT_WINDOW);
        if (await sendAlert(alerts!, failureRateAlertId(prefix, type, windowStart.getTime()), event)) {
          result.rateAlerts += 1;
          deps.logger.warn('failure rate over threshold: alert raised', {
            type,
            failures: count,
            threshold: config.ALERT_FAILURE_THRESHOLD,
          });
        }
      }

      await deps.store.put(CHECKPOINT_KEY, JSON.stringify({ through: result.through } satisfies Checkpoint), {
        contentType: 'application/json',
      });
      deps.logger.info('job outcomes swept', { ...result });
      return result;
    },
  };

  /** Writes the job's record unless one for this very close is there already. */
  async function recordJob(
    api: ApiContext,
    info: temporal.api.workflow.v1.IWorkflowExecutionInfo,
    failure: JobFailure | undefined,
  ): Promise<boolean> {
    const jobId = info.execution?.workflowId ?? '';
    const closedAt = isoTime(info.closeTime);
    const existing = await readJobRecord(deps.store, jobId);
    if (existing && existing.closedAt === closedAt) return false;
    let job;
    try {
      job = await findJob(api, jobId, ADMIN);
    } catch (e) {
      // Deleted between the list and now: nothing left to record from.
      if (e instanceof WorkflowNotFoundError || (e instanceof HttpError && e.status === 404)) return false;
      throw e;
    }
    // A newer run (a reset) is not closed yet, or closed at another time: the next pass records it.
    if (job.description.runId !== info.execution?.runId) return false;
    const view = await jobStatusBody(api, job);
    const memo = job.description.memo ?? {};
    await writeJobRecord(deps.store, {
      jobId,
      type: job.type,
      owner: job.owner,
      status: String(view.status),
      executionStatus: statusName(info.status),
      startedAt: isoTime(info.startTime),
      closedAt,
      summary: typeof memo.summary === 'string' ? memo.summary : undefined,
      replayOf: typeof memo.replayOf === 'string' ? memo.replayOf : undefined,
      view,
      ...(failure ? { failure: { class: failure.class, error: failure.error, attempts: failure.attempts } } : {}),
      recordedAt: deps.now().toISOString(),
      ...(existing?.filesPurgedAt ? { filesPurgedAt: existing.filesPurgedAt } : {}),
    });
    return true;
  }
}
