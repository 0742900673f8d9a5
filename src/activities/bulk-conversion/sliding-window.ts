/**
 * Runs `work` over `items` with at most `limit` in flight; the next item starts the moment
 * one finishes (no lock-step batches). Stops starting items once `signal` aborts and
 * resolves when everything started has settled. `work` must not throw except on abort.
 */
export async function slidingWindow<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, signal: AbortSignal): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && !signal.aborted) {
      const item = items[next++];
      await work(item).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
