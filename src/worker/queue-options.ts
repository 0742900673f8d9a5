import type { WorkerOptions } from '@temporalio/worker';
import type { AppConfig } from '../config/env';
import { TASK_QUEUES, TaskQueueBase } from '../shared/task-queues';

// Per-queue tuning. Rate limits that must hold across all workers use
// maxTaskQueueActivitiesPerSecond, which the server enforces for the whole queue.
export function queueOptions(queue: TaskQueueBase, config: AppConfig): Partial<WorkerOptions> {
  switch (queue) {
    case TASK_QUEUES.conversion:
      // Each activity converts a chunk of URLs concurrently, so few slots carry many URLs.
      // Chunks heartbeat often so a cancel request reaches them within seconds.
      return { maxConcurrentActivityTaskExecutions: 50, maxHeartbeatThrottleInterval: '2s' };
    case TASK_QUEUES.webhooks:
      return { maxConcurrentActivityTaskExecutions: 100 };
    case TASK_QUEUES.video:
      return { maxConcurrentActivityTaskExecutions: 50 };
    case TASK_QUEUES.videoStarts:
      return { maxTaskQueueActivitiesPerSecond: config.VIDEO_STARTS_PER_MINUTE / 60 };
    case TASK_QUEUES.buildRuns:
      // Builds per minute across all workers (server-side), builds at once in this process.
      return { maxConcurrentActivityTaskExecutions: config.BUILD_CONCURRENCY, maxTaskQueueActivitiesPerSecond: config.BUILDS_PER_MINUTE / 60 };
    default:
      return {};
  }
}
