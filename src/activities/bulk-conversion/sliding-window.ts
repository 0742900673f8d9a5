/**
 * Runs `work` over `items` with at most `limit` in flight; the next item starts the moment
 * one finishes (no lock-step batches). Stops starting items once `signal` aborts and
 * resolves when everything started has settled. `work` must not throw except on abort.
 *
 * Each lane hands its items its own signal, aborted with `signal`'s reason: an item's
 * fetch, backoff and conversion listen there, so adding and removing those listeners
 * stays O(1) instead of walking one list shared by every URL in flight.
 */
export async function slidingWindow<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, signal: AbortSignal) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    const own = new AbortController();
    const forward = () => own.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    try {
      while (next < items.length && !signal.aborted) {
        const item = items[next++];
        await work(item, own.signal).catch(() => undefined);
      }
    } finally {
      signal.removeEventListener('abort', forward);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
