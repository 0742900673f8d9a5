// Job-level contracts shared by the API and every job workflow. Pure module.

export const JOB_TYPES = ['bulk-conversion', 'video-generation', 'publishing-build'] as const;
export type JobType = (typeof JOB_TYPES)[number];

export const JOB_OUTCOMES = ['completed', 'completed_with_errors', 'failed', 'cancelled'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** What the API reports: `running` until the workflow ends, then its outcome. */
export type JobStatus = 'running' | JobOutcome;

/** Who asked for a job: set from the API key, stored as the `JobOwner` search attribute. */
export interface JobMeta {
  jobId: string;
  owner: string;
}
