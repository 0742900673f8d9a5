// Contract of the job-outcomes sweep: a scheduled pass over the jobs that ended since the last
// one, which records each (jobs/<id>/job.json) and raises failure alerts. Pure module.

/** Task queue of the sweep workflow and its activity. */
export const JOB_OUTCOMES_QUEUE = 'outcomes';
/** Schedule id without the deployment prefix. */
export const JOB_OUTCOMES_SCHEDULE = 'job-outcomes';

export function jobOutcomesScheduleId(prefix: string): string {
  return `${prefix}${JOB_OUTCOMES_SCHEDULE}`;
}

export interface JobOutcomesSweepResult {
  /** Closed jobs looked at (the window overlaps the previous one a little). */
  jobsSeen: number;
  recordsWritten: number;
  failures: number;
  /** `job.failed` alert deliveries started (one per failed job, ever). */
  jobAlerts: number;
  /** `jobs.failure_rate` alert deliveries started (one per job type and window, ever). */
  rateAlerts: number;
  /** Jobs closed before this time are done. */
  through: string;
}

/** Delivery workflow ids of alerts, so each alert is sent once however often a sweep sees its cause. */
export const jobFailedAlertId = (jobId: string) => `alert-job-failed-${jobId}`;
export const failureRateAlertId = (prefix: string, type: string, windowStartMs: number) =>
  `${prefix}alert-failure-rate-${type}-${windowStartMs}`;
