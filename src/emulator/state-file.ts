import fs from 'node:fs';
import path from 'node:path';

// An emulator's state on disk, so a restarted `npm start` still answers for what its running
// jobs created, as the real service would. The whole state is one JSON file, written to a
// temporary file and renamed over the old one (a crash leaves one or the other); changes close
// together are written once.

const SAVE_DELAY_MS = 50;

export interface StateFileOptions<T> {
  /** Names the emulator in the warning about an unreadable file. */
  name: string;
  /** What to write: called when a save is due. */
  snapshot(): T;
  /** JSON for values JSON does not know (Maps, Sets, Buffers). */
  replacer?: (key: string, value: unknown) => unknown;
  reviver?: (key: string, value: unknown) => unknown;
}

export class StateFile<T> {
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly file: string,
    private readonly o: StateFileOptions<T>,
  ) {}

  /**
   * Hands the saved state, if there is one, to `apply`. A file that cannot be read or applied is
   * set aside (`<file>.unreadable`) with a warning and false is returned: the emulator starts
   * empty, as its state is a convenience and never a reason not to start.
   */
  restore(apply: (saved: T) => void): boolean {
    if (!fs.existsSync(this.file)) return true;
    try {
      apply(JSON.parse(fs.readFileSync(this.file, 'utf8'), this.o.reviver) as T);
      return true;
    } catch (e) {
      fs.renameSync(this.file, `${this.file}.unreadable`);
      console.warn(`${this.o.name}: set aside its unreadable state file (${(e as Error).message}); starting empty`);
      return false;
    }
  }

  /** Something changed: write the file soon. */
  changed(): void {
    this.saveTimer ??= setTimeout(() => this.flush(), SAVE_DELAY_MS);
  }

  /** Writes a pending change now (on close). */
  flush(): void {
    if (!this.saveTimer) return;
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(`${this.file}.tmp`, JSON.stringify(this.o.snapshot(), this.o.replacer));
    fs.renameSync(`${this.file}.tmp`, this.file);
  }
}
