import { scheduledJobWorker } from '../../worker/job-definition';
import { JOB_OUTCOMES_QUEUE, jobOutcomesScheduleId } from '../../workflows/job-outcomes/contract';
import { jobOutcomesSweep } from '../../workflows/job-outcomes/workflow';
import type { ActivityDeps } from '../deps';
import { jobOutcomesEnv, JobOutcomesConfig } from './config';
import { createSweepActivity } from './sweep';

export function createJobOutcomesActivities(deps: ActivityDeps) {
  return { ...createSweepActivity(deps) };
}
export type JobOutcomesActivities = ReturnType<typeof createJobOutcomesActivities>;

export const jobOutcomesWorker = scheduledJobWorker({
  env: jobOutcomesEnv,
  queue: JOB_OUTCOMES_QUEUE,
  activities: createJobOutcomesActivities,
  schedule: (config: JobOutcomesConfig) => ({ scheduleId: jobOutcomesScheduleId(config.TASK_QUEUE_PREFIX), cron: config.JOB_OUTCOMES_SCHEDULE, workflowType: jobOutcomesSweep, args: [] }),
});
