import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A benchmark's scratch folder and its teardown: `cleanups` run last-in first-out, then the
 * folder goes; Ctrl-C runs the same before exiting.
 */
export function benchWorkspace(prefix: string) {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
    fs.rmSync(workDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  return { workDir, cleanups, cleanup };
}
