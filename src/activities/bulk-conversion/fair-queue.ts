/**
 * Items waiting for a conversion thread, lined up per group (a job). The waiting group that
 * has used the least thread time goes next, so a job whose pages each take seconds cannot
 * make another job's quick pages wait behind them. Within a group, first in, first out.
 */
export class FairQueue<T> {
  /** `isWaiting` says whether an item still waits: one that stopped waiting (cancelled) is skipped when its turn comes. */
  constructor(private readonly isWaiting: (item: T) => boolean) {}

  private readonly waiting = new Map<string, Line<T>>();
  /** Thread time (ms) each recent group has used. */
  private readonly usage = new Map<string, number>();
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(group: string, item: T): void {
    this.line(group).items.push(item);
    this.count += 1;
  }

  /** Puts an item back at the head of its group's line (it was taken before the ones waiting). */
  unshift(group: string, item: T): void {
    const line = this.line(group);
    if (line.head > 0) line.items[--line.head] = item;
    else line.items.unshift(item);
    this.count += 1;
  }

  /** Takes the next waiting item of the group with the least thread time. */
  shift(): T | undefined {
    while (this.count > 0) {
      let next: Line<T> | undefined;
      let nextGroup = '';
      let least = Infinity;
      for (const [group, line] of this.waiting) {
        const used = this.usage.get(group) ?? 0;
        if (used < least) [next, nextGroup, least] = [line, group, used];
      }
      if (!next) return undefined;
      while (next.head < next.items.length) {
        const item = next.items[next.head];
        next.items[next.head++] = undefined as T; // no reference kept to a taken item
        if (this.isWaiting(item)) {
          this.compact(nextGroup, next);
          this.count -= 1;
          return item;
        }
      }
      this.waiting.delete(nextGroup);
    }
    return undefined;
  }

  /** An item stopped waiting (see `isWaiting`): it no longer counts, and is skipped when reached. */
  dropped(): void {
    this.count -= 1;
  }

  /** Adds thread time a group's item used. */
  charge(group: string, ms: number): void {
    const used = (this.usage.get(group) ?? 0) + ms;
    this.usage.delete(group); // re-inserted last: the oldest entries are the ones dropped
    this.usage.set(group, used);
    if (this.usage.size > 1000) this.usage.delete(this.usage.keys().next().value!);
  }

  private compact(group: string, line: Line<T>): void {
    if (line.head === line.items.length) this.waiting.delete(group);
    else if (line.head > 1024 && line.head * 2 > line.items.length) {
      line.items.splice(0, line.head);
      line.head = 0;
    }
  }

  private line(group: string): Line<T> {
    let line = this.waiting.get(group);
    if (!line) this.waiting.set(group, (line = { items: [], head: 0 }));
    return line;
  }
}

interface Line<T> {
  items: T[];
  /** Index of the first waiting item (taken ones before it are cleared lazily). */
  head: number;
}
