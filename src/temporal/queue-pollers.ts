import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { isoTime } from './timestamps';

export interface QueuePollers {
  taskQueue: string;
  workflowPollers: PollerView[];
  activityPollers: PollerView[];
}
export interface PollerView {
  identity: string;
  lastAccessTime?: string;
  ratePerSecond?: number;
}

const { TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY } = temporal.api.enums.v1.TaskQueueType;

/** The pollers Temporal has seen recently on a task queue, for readiness and the admin view. */
export async function describePollers(client: Client, namespace: string, taskQueue: string): Promise<QueuePollers> {
  const describe = async (taskQueueType: temporal.api.enums.v1.TaskQueueType) => {
    const r = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType });
    return (r.pollers ?? []).map((p) => ({
      identity: p.identity ?? '',
      lastAccessTime: isoTime(p.lastAccessTime),
      ratePerSecond: p.ratePerSecond ?? undefined,
    }));
  };
  const [workflowPollers, activityPollers] = await Promise.all([describe(TASK_QUEUE_TYPE_WORKFLOW), describe(TASK_QUEUE_TYPE_ACTIVITY)]);
  return { taskQueue, workflowPollers, activityPollers };
}
