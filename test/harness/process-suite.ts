import type { ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { startTestSite, TestSite } from '../fixtures/test-site';
import { testClient } from './temporal';

/**
 * A suite that runs worker processes against the test site: its Temporal client, the site, and
 * the child processes it spawns. After the suite every child still running is SIGKILLed and the
 * rest is closed.
 */
export function processSuite(options: { latencyMs: number }) {
  const suite = { client: undefined as unknown as Client, site: undefined as unknown as TestSite, children: [] as ChildProcess[] };
  beforeAll(async () => {
    suite.client = await testClient();
    suite.site = await startTestSite({ latencyMs: options.latencyMs });
  });
  afterAll(async () => {
    for (const child of suite.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await suite.site?.close();
    await suite.client?.connection.close();
  });
  return suite;
}

/** Whether a process with this pid still exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
