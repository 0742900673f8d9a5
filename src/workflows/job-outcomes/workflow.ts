import { proxyActivities } from '@temporalio/workflow';
import type { JobOutcomesActivities } from '../../activities/job-outcomes';
import type { JobOutcomesSweepResult } from './contract';

// Started every minute by the job-outcomes schedule (or by hand): one activity does the pass,
// heartbeating as it goes; a retried attempt starts again from the stored checkpoint.

const outcomes = proxyActivities<JobOutcomesActivities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

export async function jobOutcomesSweep(): Promise<JobOutcomesSweepResult> {
  return outcomes.sweepJobOutcomes();
}
