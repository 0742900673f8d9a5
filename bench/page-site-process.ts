import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

export interface PageSiteProcess {
  pid: number;
  url(pathname: string): string;
  close(): Promise<void>;
}

/** Starts bench/page-site.ts in a child process and waits until it listens. */
export async function startPageSite(latencyMs: number): Promise<PageSiteProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'page-site.ts'), '--latency', String(latencyMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the page site exited (${code}) before it listened`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  return {
    pid: child.pid!,
    url: (pathname) => `http://127.0.0.1:${port}${pathname}`,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
