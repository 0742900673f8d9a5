// Workflow interceptor bundled with every job workflow: tells the worker (through a sink) when
// a job starts and how it ends, so job metrics need no line in any job's workflow code.
// Runs inside the workflow sandbox: deterministic, no Node imports, and it issues no commands,
// so recorded histories replay unchanged. Sinks are skipped during replay, so a job is counted
// once however often its history is replayed.
import { ContinueAsNew, isCancellation, proxySinks, workflowInfo } from '@temporalio/workflow';
import type { Next, Sinks, WorkflowExecuteInput, WorkflowInboundCallsInterceptor, WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { TemporalFailure } from '@temporalio/common';
import { JOB_OUTCOME, JOB_TYPE } from '../shared/search-attributes';

export interface JobEnd {
  /** The JobType search attribute, when the job carries one. */
  jobType?: string;
  /** The JobOutcome search attribute the workflow set, else what its ending says. */
  outcome: string;
  result?: unknown;
}

export interface JobMetricsSinks extends Sinks {
  jobMetrics: {
    started(jobType: string | undefined): void;
    ended(end: JobEnd): void;
  };
}

const { jobMetrics } = proxySinks<JobMetricsSinks>();

class JobEndInterceptor implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const jobType = () => workflowInfo().typedSearchAttributes.get(JOB_TYPE);
    // A chain continued as new is one job: count its first run only.
    if (!workflowInfo().continuedFromExecutionRunId) jobMetrics.started(jobType());
    let result: unknown;
    try {
      result = await next(input);
    } catch (e) {
      if (e instanceof ContinueAsNew) throw e;
      // Other errors fail the workflow task, not the job: Temporal retries the task.
      if (isCancellation(e))
        jobMetrics.ended({ jobType: jobType(), outcome: workflowInfo().typedSearchAttributes.get(JOB_OUTCOME) ?? 'cancelled' });
      else if (e instanceof TemporalFailure)
        jobMetrics.ended({ jobType: jobType(), outcome: workflowInfo().typedSearchAttributes.get(JOB_OUTCOME) ?? 'failed' });
      throw e;
    }
    jobMetrics.ended({ jobType: jobType(), outcome: workflowInfo().typedSearchAttributes.get(JOB_OUTCOME) ?? 'completed', result });
    return result;
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new JobEndInterceptor()] });
