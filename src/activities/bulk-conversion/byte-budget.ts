import { WaitQueue } from './wait-queue';

// Caps the bytes of fetched pages a worker holds while they wait for or go through
// conversion. A URL reserves room before its fetch starts, at the running average page
// size, and settles to the page's real size once fetched; while the cap is reached new
// fetches wait (the sliding window slows down, nothing fails). A single page larger than
// the whole budget still goes through, alone.

export interface ByteReservation {
  /** The fetched page's real size replaces the estimate. */
  settle(bytes: number): void;
  /** The page is converted (or failed): its bytes are free again. Idempotent. */
  release(): void;
}

const INITIAL_ESTIMATE = 64 * 1024;

export class ByteBudget {
  private held = 0;
  private estimate = INITIAL_ESTIMATE;
  /** Waiters are handed the bytes already held for them. */
  private readonly queue = new WaitQueue<number>();

  constructor(readonly capacity: number) {}

  get bytesHeld(): number {
    return this.held;
  }

  /** Waits until there is room below the cap, then holds an estimate for the page about to be fetched. */
  async reserve(signal?: AbortSignal): Promise<ByteReservation> {
    return this.tryReserve() ?? this.reservation(await this.queue.wait(signal));
  }

  /** Holds an estimate now when there is room and nobody waits ahead; undefined otherwise (then use reserve). */
  tryReserve(): ByteReservation | undefined {
    if (!this.hasRoom() || this.queue.length > 0) return undefined;
    const bytes = this.nextEstimate();
    this.held += bytes;
    return this.reservation(bytes);
  }

  private reservation(bytes: number): ByteReservation {
    let released = false;
    return {
      settle: (actual) => {
        if (released) return;
        this.held += actual - bytes;
        bytes = actual;
        // Running average over roughly the last 32 pages.
        this.estimate = Math.max(1024, Math.round(this.estimate + (actual - this.estimate) / 32));
      },
      release: () => {
        if (released) return;
        released = true;
        this.held -= bytes;
        this.wake();
      },
    };
  }

  private hasRoom(): boolean {
    return this.held < this.capacity;
  }

  private nextEstimate(): number {
    return Math.min(this.estimate, this.capacity);
  }

  private wake(): void {
    while (this.hasRoom()) {
      const bytes = this.nextEstimate();
      if (!this.queue.wakeOne(bytes)) return;
      this.held += bytes;
    }
  }
}
