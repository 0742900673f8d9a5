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
  const lane = async () => {
    const own = new AbortController();
    const forward = () => own.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    /** This lane's items that gave their slot up and have not settled yet. */
    const released = new Set<Promise<void>>();
    try {
      while (next < items.length && !signal.aborted) {
        const item = items[next++];
        // One promise the lane waits on, resolved by whichever comes first: the slot freed, or the item settled.
        let proceed!: () => void;
        const turn = new Promise<void>((resolve) => (proceed = resolve));
        let settled = false;
        const settle = () => {
          settled = true;
          released.delete(done);
          proceed();
        };
        const done: Promise<void> = work(item, own.signal, proceed).then(settle, settle);
        await turn;
        if (!settled) released.add(done);
      }
      // Items that gave their slot up still listen on this lane's signal.
      while (released.size) await Promise.all([...released]);
    } finally {
      signal.removeEventListener('abort', forward);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
