// Rate limits that must hold across all workers are task-queue rate limits, enforced by the
// matching service. It paces tasks with a small burst allowance (1 s of rate with the fairness
// matcher the dev server runs, one token with the classic matcher), so a queue limited to N a
// minute lets N + 1 start within some 60 s. Spreading N over the window plus that allowance and
// a margin keeps every window at N or fewer. The limit is split over the queue's partitions, so
// it holds only on a queue with one partition (see src/start/dev-server.ts and the README).

/** The matching service's burst allowance, and a margin for clock and scheduling jitter. */
const ALLOWANCE_MS = 1_000 + 500;

/** Tasks per second for `maxTaskQueueActivitiesPerSecond` so that at most `count` start in any `windowMs`. */
export function strictQueueRate(count: number, windowMs: number): number {
  return count / ((windowMs + ALLOWANCE_MS) / 1000);
}
