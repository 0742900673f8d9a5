import fsp from 'node:fs/promises';

/**
 * fsyncs folders so renames into them survive a power loss. Many writes into one folder share
 * syncs: a caller joins the next sync that starts after its rename (one already running may have
 * started before it), so a burst of N artifacts costs about two folder syncs, not N.
 */
export class DirectorySyncer {
  private readonly state = new Map<string, { running?: Promise<void>; next?: Promise<void> }>();

  sync(dir: string): Promise<void> {
    let s = this.state.get(dir);
    if (!s) this.state.set(dir, (s = {}));
    if (s.next) return s.next;
    const slot = s;
    const start = (): Promise<void> => {
      const run = syncDirectory(dir).finally(() => {
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

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
