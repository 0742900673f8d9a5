/**
 * Calls `onAbort` for each member registered under a signal when that signal aborts, with
 * one listener per signal for its whole life instead of one added and removed per member.
 */
export class AbortWatch<T> {
  private readonly members = new WeakMap<AbortSignal, Set<T>>();

  constructor(private readonly onAbort: (member: T, reason: unknown) => void) {}

  add(signal: AbortSignal, member: T): void {
    let set = this.members.get(signal);
    if (!set) {
      const members = (set = new Set<T>());
      this.members.set(signal, members);
      signal.addEventListener('abort', () => {
        for (const m of members) this.onAbort(m, signal.reason);
        members.clear();
      });
    }
    set.add(member);
  }

  delete(signal: AbortSignal, member: T): void {
    this.members.get(signal)?.delete(member);
  }
}
