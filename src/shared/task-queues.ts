// Task queue names: one source of truth for workers, workflows and the API.
// Pure module: imported by workflow code, so no Node imports here.

export const TASK_QUEUES = {
  conversion: 'conversion',
  webhooks: 'webhooks',
  video: 'video',
  /** Provider calls that start a paid generation: rate-limited for the whole queue. */
  videoStarts: 'video-starts',
  /** Scheduled upkeep (storage cleanup), started by Temporal Schedules. */
  maintenance: 'maintenance',
  /** Publishing builds' workflows and store steps. */
  builds: 'builds',
  /** The build step itself: rate-limited for the whole queue, concurrency-capped per worker. */
  buildRuns: 'build-runs',
} as const;

export type TaskQueueKey = keyof typeof TASK_QUEUES;
export type TaskQueueBase = (typeof TASK_QUEUES)[TaskQueueKey];

export const ALL_TASK_QUEUES: TaskQueueBase[] = Object.values(TASK_QUEUES);

/** Queue name with a deployment prefix (empty in production; unique per test). */
export function prefixedQueue(prefix: string, base: TaskQueueBase): string {
  return `${prefix}${base}`;
}

/**
 * The queue `base` that lives beside `ownQueue`: workflows use it to reach other
 * queues while keeping whatever prefix they were started under.
 */
export function siblingQueue(ownQueue: string, base: TaskQueueBase): string {
  const own = [...ALL_TASK_QUEUES]
    .sort((a, b) => b.length - a.length)
    .find((q) => ownQueue.endsWith(q));
  const prefix = own ? ownQueue.slice(0, ownQueue.length - own.length) : '';
  return `${prefix}${base}`;
}

export function parseQueueList(value: string | undefined): TaskQueueBase[] {
  if (!value || !value.trim()) return [...ALL_TASK_QUEUES];
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(ALL_TASK_QUEUES as string[]).includes(n));
  if (unknown.length) throw new Error(`unknown task queue(s): ${unknown.join(', ')}; known: ${ALL_TASK_QUEUES.join(', ')}`);
  return names as TaskQueueBase[];
}
