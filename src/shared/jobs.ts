// Job-level contracts shared by the API and every job workflow. Pure module.

export const JOB_OUTCOMES = ['completed', 'completed_with_errors', 'failed', 'cancelled'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** What the API reports: `running` until the workflow ends, then its outcome. */
export const JOB_STATUSES = ['running', ...JOB_OUTCOMES] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Standard Webhooks event types of a job's end: `completed_with_errors` is a completed job whose data says so. */
export type JobEventType = 'job.completed' | 'job.failed' | 'job.cancelled';

export function jobEventType(outcome: JobOutcome): JobEventType {
  if (outcome === 'failed') return 'job.failed';
  if (outcome === 'cancelled') return 'job.cancelled';
  return 'job.completed';
}

/** The Standard Webhooks envelope every job webhook and alert is sent in. */
export interface WebhookEnvelope<Type extends string = string, Data = Record<string, unknown>> {
  type: Type;
  /** ISO 8601 time of the event. */
  timestamp: string;
  data: Data;
}
