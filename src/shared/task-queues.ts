// Task-queue naming shared by workers, workflows and the API. Each job type names its queues
// in its contract; a deployment prefix (empty in production, unique per test) goes in front.
// Pure module: imported by workflow code, so no Node imports here.

/** Queue name with a deployment prefix. */
export function prefixedQueue(prefix: string, base: string): string {
  return `${prefix}${base}`;
}

/**
 * The queue `otherBase` under the same prefix as `ownQueue` (whose base name is `ownBase`):
 * workflows use it to reach other queues while keeping whatever prefix they were started under.
 */
export function siblingQueue(ownQueue: string, ownBase: string, otherBase: string): string {
  const prefix = ownQueue.endsWith(ownBase) ? ownQueue.slice(0, ownQueue.length - ownBase.length) : '';
  return `${prefix}${otherBase}`;
}
