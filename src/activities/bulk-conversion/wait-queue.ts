/** A first-come-first-served line of waiters; a waiter whose signal aborts leaves the line. */
export class WaitQueue<T> {
  private readonly waiters = new Set<(value: T) => void>();

  get length(): number {
    return this.waiters.size;
  }

  /** Resolves with the value of the `wakeOne` call that reaches this waiter. */
  wait(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.waiters.delete(grant);
        reject(signal?.reason);
      };
      const grant = (value: T) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(grant);
    });
  }

  /** Hands `value` to the longest waiter; false when nobody waits. */
  wakeOne(value: T): boolean {
    for (const grant of this.waiters) {
      this.waiters.delete(grant);
      grant(value);
      return true;
    }
    return false;
  }
}
