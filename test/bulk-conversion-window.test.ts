import { ChunkWindow, clampConcurrency, initialCarry, planChunks } from '../src/workflows/bulk-conversion/chunk-window';

// The bookkeeping behind the workflow's sliding window, as plain code: slots, counts, retries.

describe('ChunkWindow', () => {
  test('keeps the URL slots of running chunks within the concurrency and refills as chunks end', () => {
    const window = new ChunkWindow(initialCarry(1000, 70, { chunkSize: 100, chunkParallelism: 50 }), 70);
    const a = window.startNext()!;
    const b = window.startNext()!;
    expect([a.slots, b.slots]).toEqual([50, 20]);
    expect(window.startNext()).toBeUndefined();
    expect(window.canStart()).toBe(false);
    window.completed(b, { succeeded: 100, failed: 0 });
    const c = window.startNext()!;
    expect(c).toMatchObject({ chunk: 2, slots: 20 });
    const inUse = [...window.running.values()].reduce((n, t) => n + t.slots, 0);
    expect(inUse).toBe(70);
  });

  test('counts, live progress and the last short chunk', () => {
    const window = new ChunkWindow(initialCarry(250, 20, { chunkSize: 100 }), 20);
    const first = window.startNext()!;
    expect(window.progress()).toEqual({ total: 250, succeeded: 0, failed: 0, inFlight: 20, pending: 230 });
    window.reportLive({ taskId: first.id, succeeded: 30, failed: 2, inFlight: 20 });
    expect(window.progress()).toEqual({ total: 250, succeeded: 30, failed: 2, inFlight: 20, pending: 198 });
    window.completed(first, { succeeded: 97, failed: 3 });
    window.completed(window.startNext()!, { succeeded: 100, failed: 0 });
    const last = window.startNext()!;
    expect(window.chunkLength(last.chunk)).toBe(50);
    window.completed(last, { succeeded: 50, failed: 0 });
    expect(window.hasPendingWork()).toBe(false);
    expect(window.progress()).toEqual({ total: 250, succeeded: 247, failed: 3, inFlight: 0, pending: 0 });
    expect(window.state.failedByChunk).toEqual({ 0: 3 });
  });

  test('retryFailed queues finished chunks with failures now and running ones when they end', () => {
    const window = new ChunkWindow(initialCarry(300, 10, { chunkSize: 100 }), 10);
    const first = window.startNext()!;
    window.completed(first, { succeeded: 90, failed: 10 });
    const second = window.startNext()!;
    window.requestRetry();
    expect(window.state.retryQueue).toEqual([0]);
    window.completed(second, { succeeded: 95, failed: 5 });
    expect(window.state.retryQueue).toEqual([0, 1]);

    const retry = window.startNext()!;
    expect(retry).toMatchObject({ chunk: 0, mode: 'retry', items: 10, slots: 10 });
    // Being retried, its 10 failures count as in flight or pending, not failed.
    expect(window.progress()).toMatchObject({ succeeded: 185, failed: 5, inFlight: 10 });
    window.completed(retry, { succeeded: 98, failed: 2 });
    expect(window.state).toMatchObject({ succeeded: 193, failed: 7, failedByChunk: { 0: 2, 1: 5 } });
    // Not asked again: chunk 0's remaining failures stay failed.
    expect(window.state.retryQueue).toEqual([1]);
  });

  test('chunk plans: parallelism within concurrency, ~20 rounds per chunk, 100..1000 URLs', () => {
    expect(planChunks(10_000, 100)).toEqual({ chunkParallelism: 50, chunkSize: 1000, chunkCount: 10 });
    expect(planChunks(10, 20)).toEqual({ chunkParallelism: 20, chunkSize: 400, chunkCount: 1 });
    expect(planChunks(1000, 1)).toEqual({ chunkParallelism: 1, chunkSize: 100, chunkCount: 10 });
    // Balanced plans fill every lane in every wave.
    expect(planChunks(10_000, 100, {}, true)).toEqual({ chunkParallelism: 50, chunkSize: 1000, chunkCount: 10 });
    expect(planChunks(10_000, 200, {}, true)).toEqual({ chunkParallelism: 50, chunkSize: 834, chunkCount: 12 });
    expect(planChunks(10_000, 120, {}, true)).toEqual({ chunkParallelism: 40, chunkSize: 667, chunkCount: 15 });
    expect(planChunks(200, 100, {}, true)).toEqual({ chunkParallelism: 50, chunkSize: 100, chunkCount: 2 });
    expect(planChunks(1, 20, {}, true)).toEqual(planChunks(1, 20));
    expect(planChunks(60, 100, {}, true)).toEqual({ chunkParallelism: 50, chunkSize: 30, chunkCount: 2 });
    expect(planChunks(1000, 1, {}, true)).toEqual({ chunkParallelism: 1, chunkSize: 100, chunkCount: 10 });
    expect(planChunks(10_000, 200, { chunkSize: 500 }, true)).toEqual({ chunkParallelism: 50, chunkSize: 500, chunkCount: 20 });
    expect([clampConcurrency(undefined), clampConcurrency(0), clampConcurrency(500)]).toEqual([20, 1, 200]);
  });
});
