import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { durationMs } from './timestamps';

export type TaskKind = 'workflow' | 'activity';

export interface QueueStats {
  taskQueue: string;
  kind: TaskKind;
  /** Tasks waiting for a worker (approximate, as Temporal reports it). */
  backlog: number;
  /** Age of the oldest waiting task, in seconds (0 when nothing waits). */
  backlogAgeSeconds: number;
  /** Tasks added and dispatched per second, averaged by Temporal over the last 30 s. */
  addRate: number;
  dispatchRate: number;
}

const KINDS: [TaskKind, temporal.api.enums.v1.TaskQueueType][] = [
  ['workflow', temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW],
  ['activity', temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
];

const seconds = (d: Parameters<typeof durationMs>[0]) => (durationMs(d) ?? 0) / 1000;

/** A task queue's backlog statistics from DescribeTaskQueue (`reportStats`), for its workflow and activity tasks. */
export async function describeQueueStats(client: Client, namespace: string, taskQueue: string): Promise<QueueStats[]> {
  return Promise.all(
    KINDS.map(async ([kind, taskQueueType]) => {
      const r = await client.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: taskQueue },
        taskQueueType,
        reportStats: true,
      });
      const s = r.stats;
      return {
        taskQueue,
        kind,
        backlog: Number(s?.approximateBacklogCount?.toString() ?? 0),
        backlogAgeSeconds: seconds(s?.approximateBacklogAge),
        addRate: s?.tasksAddRate ?? 0,
        dispatchRate: s?.tasksDispatchRate ?? 0,
      };
    }),
  );
}
