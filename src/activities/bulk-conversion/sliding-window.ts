/**
 * Runs `work` over `items` with at most `limit` items holding a slot; the next item starts the
 * moment one finishes or gives its slot up early (no lock-step batches). An item gives its
 * slot up by calling `freeSlot` (a fetched page that only waits for its conversion), so the
 * slots bound what reaches out to the network while the rest of the work carries on beside.
 * Stops starting items once `signal` aborts and resolves when everything started has settled.
 * `work` must not throw except on abort.
 *
 * Each lane hands its items its own signal, aborted with `signal`'s reason: an item's
 * fetch, backoff and conversion listen there, so adding and removing those listeners
 * stays O(1) instead of walking one list shared by every URL in flight.
 */
export async function slidingWindow<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, signal: AbortSignal, freeSlot: () => void) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let next = 0;
  const released = new Set<Promise<void>>();
  const lane = async () => {
    const own = new AbortController();
    const forward = () => own.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    try {
      while (next < items.length && !signal.aborted) {
        const item = items[next++];
        let freeSlot!: () => void;
        const slotFreed = new Promise<'freed'>((resolve) => (freeSlot = () => resolve('freed')));
        const done = work(item, own.signal, freeSlot).catch(() => undefined);
        if ((await Promise.race([done, slotFreed])) === 'freed') {
          released.add(done);
          void done.then(() => released.delete(done));
        }
      }
      // Items that gave their slot up still listen on this lane's signal.
      while (released.size) await Promise.all([...released]);
    } finally {
      signal.removeEventListener('abort', forward);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
