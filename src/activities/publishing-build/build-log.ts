import type { BlobStore } from '../../storage/blob-store';

// The build log in blob storage (jobs/<id>/build.log), rewritten every second while lines
// come in, so readers (GET /jobs/:id/logs?follow=1) see it grow on any blob store. Earlier
// attempts' lines stay at the top; the whole log is capped.

export const FLUSH_EVERY_MS = 1_000;

export class BuildLog {
  private chunks: string[] = [];
  private bytes = 0;
  private dirty = false;
  private capped = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  lines = 0;
  lastLine: string | undefined;

  constructor(
    private readonly store: BlobStore,
    readonly key: string,
    private readonly maxBytes: number,
  ) {}

  /** Carries on from what earlier attempts wrote. */
  async open(): Promise<void> {
    const earlier = await this.store.getBuffer(this.key).catch(() => undefined);
    if (earlier?.length) {
      this.chunks.push(earlier.toString('utf8'));
      this.bytes = earlier.length;
    }
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
  }

  /** The build's own line (counted) or a note of ours (`note`: not counted as build output). */
  write(line: string, note = false): void {
    if (!note) {
      this.lines++;
      this.lastLine = line;
    }
    if (this.capped) return;
    const text = `${line}\n`;
    if (this.bytes + text.length > this.maxBytes) {
      this.capped = true;
      this.chunks.push(`[log capped at ${this.maxBytes} bytes]\n`);
    } else {
      this.chunks.push(text);
      this.bytes += text.length;
    }
    this.dirty = true;
  }

  /** The last `n` lines of this log. */
  tail(n: number): string[] {
    const all = this.chunks.join('').split('\n');
    if (all[all.length - 1] === '') all.pop();
    return all.slice(-n);
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const text = this.chunks.join('');
      this.chunks = [text];
      await this.store.put(this.key, text, { contentType: 'text/plain; charset=utf-8' });
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
