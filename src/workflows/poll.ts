import { log, sleep } from '@temporalio/workflow';
import { isTransientActivityFailure } from './job-end';

/**
 * Polls on durable timers until `check` returns a value: the n-th wait is `delayMs(n)`; a
 * transient activity failure is asked again at the next poll; past the deadline `expired()` is
 * thrown. `afterPoll` runs after every poll, answered or not. Workflow code: deterministic.
 */
export async function pollUntil<T>(poll: {
  deadlineMs: number;
  delayMs(n: number): number;
  /** What is polled, for the log: "processing", "App Review", "status". */
  what: string;
  check(): Promise<T | undefined>;
  afterPoll?(): void;
  expired(): Error;
}): Promise<T> {
  const deadline = Date.now() + poll.deadlineMs;
  for (let n = 0; ; n++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw poll.expired();
    await sleep(Math.min(poll.delayMs(n), remaining));
    let done: T | undefined;
    try {
      done = await poll.check();
    } catch (e) {
      // A service that keeps answering 429/5xx is asked again at the next poll, until the deadline.
      if (!isTransientActivityFailure(e)) throw e;
      log.warn(`${poll.what} poll failed; polling again later`, { error: (e as Error).message });
    }
    poll.afterPoll?.();
    if (done) return done;
  }
}
