import { prefixedQueue } from '../../shared/task-queues';
import type { JobWorker } from '../../worker/job-definition';
import { JOB_OUTCOMES_QUEUE, jobOutcomesScheduleId } from '../../workflows/job-outcomes/contract';
import { jobOutcomesSweep } from '../../workflows/job-outcomes/workflow';
import type { ActivityDeps } from '../deps';
import { jobOutcomesEnv, JobOutcomesConfig } from './config';
import { createSweepActivity } from './sweep';

export function createJobOutcomesActivities(deps: ActivityDeps) {
  return { ...createSweepActivity(deps) };
}
export type JobOutcomesActivities = ReturnType<typeof createJobOutcomesActivities>;

export const jobOutcomesWorker: JobWorker<typeof jobOutcomesEnv.shape> = {
  env: jobOutcomesEnv,
  queues: [{ name: JOB_OUTCOMES_QUEUE, activities: createJobOutcomesActivities }],
  schedules: (config: JobOutcomesConfig) => [
    {
      scheduleId: jobOutcomesScheduleId(config.TASK_QUEUE_PREFIX),
      cron: config.JOB_OUTCOMES_SCHEDULE,
      workflowType: jobOutcomesSweep,
      taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, JOB_OUTCOMES_QUEUE),
      args: [],
    },
  ],
};
