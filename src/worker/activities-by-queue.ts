import type { ActivityDeps } from '../activities/deps';
import type { TaskQueueBase } from '../shared/task-queues';

type ActivityMap = Record<string, (...args: never[]) => Promise<unknown>>;

/** The activities each task queue's worker hosts. */
export function activitiesForQueue(queue: TaskQueueBase, _deps: ActivityDeps): ActivityMap {
  switch (queue) {
    default:
      return {};
  }
}
