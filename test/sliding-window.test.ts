import { slidingWindow } from '../src/activities/bulk-conversion/sliding-window';

// The chunk's URL window: at most `limit` items hold a slot; an item that frees its slot early
// (a fetched page waiting for its conversion) lets the next one start, and the window still
// resolves only once every item has settled.

test('an item that frees its slot lets the next start; the window waits for all to settle', async () => {
  const events: string[] = [];
  const gates = new Map<string, () => void>();
  const gate = (name: string) => new Promise<void>((resolve) => gates.set(name, resolve));
  let settled = false;
  const run = slidingWindow(
    ['a', 'b', 'c'],
    1,
    async (item, _signal, freeSlot) => {
      events.push(`start ${item}`);
      freeSlot();
      await gate(item);
      events.push(`end ${item}`);
    },
    new AbortController().signal,
  ).then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  // One slot, yet all three started: each gave its slot up before its slow part.
  expect(events).toEqual(['start a', 'start b', 'start c']);
  gates.get('b')!();
  gates.get('c')!();
  await new Promise((r) => setImmediate(r));
  expect(settled).toBe(false);
  gates.get('a')!();
  await run;
  expect(events).toEqual(['start a', 'start b', 'start c', 'end b', 'end c', 'end a']);
});

test('items that keep their slot run at most `limit` at once', async () => {
  let running = 0;
  let peak = 0;
  await slidingWindow(
    Array.from({ length: 20 }, (_, i) => i),
    3,
    async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
    },
    new AbortController().signal,
  );
  expect(peak).toBe(3);
});

test('an abort stops new starts and reaches the items that freed their slot', async () => {
  const controller = new AbortController();
  const started: number[] = [];
  const aborted: number[] = [];
  const run = slidingWindow(
    [1, 2, 3, 4],
    1,
    (item, signal, freeSlot) => {
      started.push(item);
      if (item === 2) controller.abort(new Error('cancelled'));
      freeSlot();
      return new Promise<void>((resolve) =>
        signal.aborted
          ? (aborted.push(item), resolve())
          : signal.addEventListener('abort', () => (aborted.push(item), resolve()), { once: true }),
      );
    },
    controller.signal,
  );
  await run;
  expect(started).toEqual([1, 2]);
  expect(aborted.sort()).toEqual([1, 2]);
});
