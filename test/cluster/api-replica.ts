import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AppConfig } from '../../src/config/env';
import { PROJECT_ROOT } from '../../src/start/provision-cli';
import { waitForHttpOk } from '../../src/start/supervisor';
import { freePort } from '../harness/ports';
import { envFor } from '../harness/temporal';

// The real API entry point as a replica on a host of its own: own port, DATA_DIR and working directory.

export interface ApiReplica {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startApiReplica(
  config: AppConfig,
  extraEnv: Record<string, string> = {},
  o: { nodeArgs?: string[] } = {},
): Promise<ApiReplica> {
  const host = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-api-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [...(o.nodeArgs ?? []), '--import', pathToFileURL(require.resolve('tsx')).href, path.join(PROJECT_ROOT, 'src/api/main.ts')],
    {
      cwd: host,
      env: envFor(config, { PORT: String(port), API_PUBLIC_URL: url, DATA_DIR: path.join(host, 'data'), LOG_LEVEL: 'warn', ...extraEnv }),
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await waitForHttpOk(`${url}/health`, 90_000, () => child.exitCode === null);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
