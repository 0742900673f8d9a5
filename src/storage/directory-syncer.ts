import fsp from 'node:fs/promises';

/**
 * fsyncs folders so renames into them survive a power loss. Many writes into one folder share
 * syncs: a caller joins the next sync that starts after its rename (one already running may have
 * started before it), so a burst of N artifacts costs about two folder syncs, not N. With
 * `gatherMs`, a sync waits that long before it starts so that more renames share it: for
 * callers that do not wait on it (e.g. results reported a moment later).
 */
export class DirectorySyncer {
  private readonly state = new Map<string, { running?: Promise<void>; next?: Promise<void> }>();

  constructor(private readonly gatherMs = 0) {}

  sync(dir: string): Promise<void> {
    let s = this.state.get(dir);
    if (!s) this.state.set(dir, (s = {}));
    if (s.next) return s.next;
    const slot = s;
    const start = (): Promise<void> => {
      const run = gathered(this.gatherMs, () => syncDirectory(dir)).finally(() => {
        if (slot.running === run) slot.running = undefined;
        if (!slot.running && !slot.next) this.state.delete(dir);
      });
      slot.running = run;
      return run;
    };
    if (!slot.running) return start();
    const next = slot.running
      .catch(() => undefined)
      .then(() => {
        slot.next = undefined;
        return start();
      });
    slot.next = next;
    return next;
  }
}

function gathered(ms: number, then: () => Promise<void>): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)).then(then) : then();
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
