import { scheduledJobWorker } from '../../worker/job-definition';
import { JOB_OUTCOMES_QUEUE, jobOutcomesScheduleId } from '../../workflows/job-outcomes/contract';
import { jobOutcomesSweep } from '../../workflows/job-outcomes/workflow';
import { jobOutcomesEnv, JobOutcomesConfig } from './config';
import { createSweepActivity } from './sweep';

export type JobOutcomesActivities = ReturnType<typeof createSweepActivity>;

/** Every JOB_OUTCOMES_SCHEDULE, sweeps recently ended jobs for records and alerts. */
const schedule = (config: JobOutcomesConfig) => ({
  scheduleId: jobOutcomesScheduleId(config.TASK_QUEUE_PREFIX),
  cron: config.JOB_OUTCOMES_SCHEDULE,
  workflowType: jobOutcomesSweep,
  args: [],
});
export const jobOutcomesWorker = scheduledJobWorker({
  env: jobOutcomesEnv,
  queue: JOB_OUTCOMES_QUEUE,
  activities: createSweepActivity,
  schedule,
});
