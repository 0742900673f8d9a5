import type { Client } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { JOB_OUTCOME, JOB_OWNER, JOB_TYPE } from '../shared/search-attributes';
import { prefixedQueue } from '../shared/task-queues';
import { isoTime } from './timestamps';
import { jobDefinition, STARTABLE_JOB_TYPES } from '../worker/job-registry';

// Every way a job ends without success, as one visibility query and one classification:
// the dead-letter view, bulk replay and failure alerts all read failures through here.

type IWorkflowExecutionInfo = temporal.api.workflow.v1.IWorkflowExecutionInfo;
type IFailure = temporal.api.failure.v1.IFailure;
const { EventType, WorkflowExecutionStatus } = temporal.api.enums.v1;

/** `terminated`, `timed_out`, `items_failed` (the job ran to its end and nothing succeeded), or the ApplicationFailure type. */
export type FailureClass = string;

export interface FailureFilter {
  type?: string;
  owner?: string;
  /** Closed at or after. */
  from?: Date;
  /** Closed before. */
  to?: Date;
  class?: FailureClass;
}

export interface JobFailure {
  jobId: string;
  runId?: string;
  type: string;
  owner: string;
  class: FailureClass;
  error: string;
  /** Attempts of the activity whose failure ended the job, when that is what ended it. */
  attempts?: number;
  summary?: string;
  replayOf?: string;
  startedAt?: string;
  failedAt?: string;
  executionStatus: string;
}

const quote = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

/** The deployment's job workflows: their types and the queues (with TASK_QUEUE_PREFIX) they run on. */
export function jobScopeClauses(prefix: string, type?: string): string[] {
  const types = type ? [type] : STARTABLE_JOB_TYPES;
  const queues = types.map((t) => prefixedQueue(prefix, jobDefinition(t)!.worker.queues[0].name));
  return [`JobType IN (${types.map(quote).join(', ')})`, `TaskQueue IN (${queues.map(quote).join(', ')})`];
}

/** Failed outcome, or a run that failed, was terminated or timed out before recording one. */
export const FAILED_CLAUSE = `(JobOutcome = "failed" OR ExecutionStatus IN ("Failed", "Terminated", "TimedOut"))`;

export function failureQuery(prefix: string, f: FailureFilter): string {
  const clauses = [...jobScopeClauses(prefix, f.type), `ExecutionStatus != "ContinuedAsNew"`, FAILED_CLAUSE];
  if (f.owner) clauses.push(`JobOwner = ${quote(f.owner)}`);
  if (f.class === 'terminated') clauses.push(`ExecutionStatus = "Terminated"`);
  if (f.class === 'timed_out') clauses.push(`ExecutionStatus = "TimedOut"`);
  if (f.from) clauses.push(`CloseTime >= ${quote(f.from.toISOString())}`);
  if (f.to) clauses.push(`CloseTime < ${quote(f.to.toISOString())}`);
  return clauses.join(' AND ');
}

export function statusName(status: number | null | undefined): string {
  return (WorkflowExecutionStatus[status ?? 0] ?? 'WORKFLOW_EXECUTION_STATUS_UNSPECIFIED').replace('WORKFLOW_EXECUTION_STATUS_', '');
}

const memoString = (memo: IWorkflowExecutionInfo['memo'], key: string): string | undefined => {
  const payload = memo?.fields?.[key];
  if (!payload) return undefined;
  const v = defaultPayloadConverter.fromPayload<unknown>(payload);
  return typeof v === 'string' ? v : undefined;
};

/** The innermost ApplicationFailure type and its message (activity failures wrap the activity's own error). */
function rootCause(failure: IFailure): { type?: string; message: string; activityStartedEventId?: number } {
  let f: IFailure | null | undefined = failure;
  let type: string | undefined;
  let message = failure.message ?? '';
  let startedEventId: number | undefined;
  while (f) {
    if (f.applicationFailureInfo?.type) type = f.applicationFailureInfo.type;
    if (f.activityFailureInfo?.startedEventId) startedEventId = Number(f.activityFailureInfo.startedEventId);
    if (f.message) message = f.message;
    f = f.cause;
  }
  return { type, message, activityStartedEventId: startedEventId };
}

/** Class, last error and attempts from the last events of a run (one short reverse-history read). */
export async function classifyFailure(
  client: Client,
  namespace: string,
  info: IWorkflowExecutionInfo,
): Promise<Pick<JobFailure, 'class' | 'error' | 'attempts'>> {
  const status = statusName(info.status);
  if (status === 'TIMED_OUT') return { class: 'timed_out', error: 'the job ran past its workflow timeout' };
  const page = await client.workflowService.getWorkflowExecutionHistoryReverse({
    namespace,
    execution: { workflowId: info.execution?.workflowId, runId: info.execution?.runId },
    maximumPageSize: 20,
  });
  const events = page.history?.events ?? [];
  const close = events[0];
  if (status === 'TERMINATED') {
    const t = close?.workflowExecutionTerminatedEventAttributes;
    return { class: 'terminated', error: `terminated${t?.identity ? ` by ${t.identity}` : ''}${t?.reason ? `: ${t.reason}` : ''}` };
  }
  const failure = close?.workflowExecutionFailedEventAttributes?.failure;
  if (failure) {
    const cause = rootCause(failure);
    const started = events.find(
      (e) => Number(e.eventId) === cause.activityStartedEventId && e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    );
    return {
      class: cause.type ?? 'WorkflowFailed',
      error: cause.message,
      attempts: started?.activityTaskStartedEventAttributes?.attempt ?? undefined,
    };
  }
  // Completed with the failed outcome: the job ran to its end and nothing succeeded.
  const payload = close?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
  const result = payload ? defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload) : undefined;
  const counts =
    typeof result?.total === 'number' && typeof result?.failed === 'number' ? `: ${result.failed} of ${result.total} items failed` : '';
  return {
    class: 'items_failed',
    error: typeof result?.error === 'string' ? result.error : `the job ended with the failed outcome${counts}`,
  };
}

/** One listed execution as a dead-letter entry. */
export async function toJobFailure(client: Client, namespace: string, info: IWorkflowExecutionInfo): Promise<JobFailure> {
  const attrs = decodeTypedSearchAttributes(info.searchAttributes?.indexedFields);
  return {
    jobId: info.execution?.workflowId ?? '',
    runId: info.execution?.runId ?? undefined,
    type: attrs.get(JOB_TYPE) ?? '',
    owner: attrs.get(JOB_OWNER) ?? '',
    ...(await classifyFailure(client, namespace, info)),
    summary: memoString(info.memo, 'summary'),
    replayOf: memoString(info.memo, 'replayOf'),
    startedAt: isoTime(info.startTime),
    failedAt: isoTime(info.closeTime),
    executionStatus: statusName(info.status),
  };
}

/** True when a closed execution counts as a failure (the same rule as FAILED_CLAUSE). */
export function isFailure(info: IWorkflowExecutionInfo): boolean {
  const status = statusName(info.status);
  if (status === 'FAILED' || status === 'TERMINATED' || status === 'TIMED_OUT') return true;
  return decodeTypedSearchAttributes(info.searchAttributes?.indexedFields).get(JOB_OUTCOME) === 'failed';
}

export interface FailurePage {
  failures: JobFailure[];
  nextPageToken?: string;
}

/** Visibility pages read for one page of a class-filtered list before answering with what was found. */
const MAX_SCANNED_PAGES = 5;

/**
 * One page of failures, newest first. A class other than terminated/timed_out is not indexed:
 * it is matched page by page, so a page may hold fewer entries than asked (follow nextPageToken).
 */
export async function listFailures(
  client: Client,
  namespace: string,
  prefix: string,
  filter: FailureFilter,
  pageSize: number,
  pageToken?: Buffer,
): Promise<FailurePage> {
  const query = failureQuery(prefix, filter);
  const failures: JobFailure[] = [];
  let token: Uint8Array | undefined = pageToken;
  for (let scanned = 0; scanned < MAX_SCANNED_PAGES; scanned++) {
    const page = await client.workflowService.listWorkflowExecutions({
      namespace,
      pageSize: pageSize - failures.length,
      nextPageToken: token,
      query,
    });
    for (const info of page.executions ?? []) {
      const failure = await toJobFailure(client, namespace, info);
      if (!filter.class || failure.class === filter.class) failures.push(failure);
    }
    token = page.nextPageToken?.length ? page.nextPageToken : undefined;
    if (!token || failures.length >= pageSize) break;
  }
  return { failures, nextPageToken: token ? Buffer.from(token).toString('base64url') : undefined };
}
