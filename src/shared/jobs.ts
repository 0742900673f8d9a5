// Job-level contracts shared by the API and every job workflow. Pure module.

export const JOB_OUTCOMES = ['completed', 'completed_with_errors', 'failed', 'cancelled'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** What the API reports: `running` until the workflow ends, then its outcome. */
export const JOB_STATUSES = ['running', ...JOB_OUTCOMES] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
