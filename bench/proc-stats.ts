import fs from 'node:fs';

/** User + system CPU time a process (or one of its threads) has used so far, from /proc (0 once it is gone). */
export function cpuSeconds(pid: number, thread?: number): number {
  try {
    const fields = fs
      .readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return 0;
  }
}

/** CPU seconds of a process's live threads, summed by thread name (node main thread, conversion/workflow threads, libuv, V8, Temporal core). */
export function cpuByThreadName(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const key = Number(tid) === pid ? 'main' : name;
      out.set(key, (out.get(key) ?? 0) + cpuSeconds(pid, Number(tid)));
    }
  } catch {
    /* process gone */
  }
  return out;
}
