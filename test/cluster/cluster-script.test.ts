import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../../src/start/provision-cli';
import { waitFor } from '../harness/temporal';
import { processAlive } from '../harness/process-suite';

// `npm run cluster` as a user runs it: it prints TEMPORAL_ADDRESS once the cluster answers with
// our namespace and search attributes, and SIGTERM leaves no process and no directory behind.

test('npm run cluster: ready with TEMPORAL_ADDRESS, then SIGTERM stops every process it started', async () => {
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(require.resolve('tsx')).href, path.join(PROJECT_ROOT, 'src/cluster/main.ts'), '--shards', '4'],
    {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const address = await waitFor(() => /TEMPORAL_ADDRESS=(\S+)/.exec(out)?.[1], `TEMPORAL_ADDRESS in the output:\n${out}`, 180_000, 200);
    const pids = JSON.parse(/pids\s+(\{.*\})/.exec(out)![1]) as Record<string, number>;
    const dir = /logs\s+(\S+)\/logs\//.exec(out)![1];
    expect(Object.keys(pids).sort()).toEqual(['frontend', 'history', 'matching', 'postgres', 'worker']);
    expect(Object.values(pids).every(processAlive)).toBe(true);

    const connection = await Connection.connect({ address });
    try {
      const client = new Client({ connection });
      const attributes = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      expect(Object.keys(attributes.customAttributes ?? {})).toEqual(expect.arrayContaining(['JobType', 'JobOwner', 'JobOutcome']));
      expect((await client.workflow.count('JobOwner IN ("alice", "bob")')).count).toBe(0);
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBe('1.29.1');
    } finally {
      await connection.close();
    }

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('[cluster] stopped');
    expect(Object.entries(pids).filter(([, pid]) => processAlive(pid))).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
