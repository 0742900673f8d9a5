import fs from 'node:fs';
import { startWorkers, testConfig, waitFor } from './harness/temporal';

// A conversion worker holds its conversion threads from the start (so a job's first pages do not
// wait for them) and gives them back when its Workers stop: a process that creates Workers again
// (tests, an in-place restart) must not pile up threads.

/** Threads of this process right now (Linux). */
const threadCount = () => fs.readdirSync('/proc/self/task').length;
const settled = () => new Promise((r) => setTimeout(r, 500));

test('conversion threads start with the Workers and stop when they stop', async () => {
  const config = testConfig({ CONVERSION_THREADS: '3' });
  // One cycle first: the Temporal runtime's own threads start once per process and stay.
  await (await startWorkers(config, { queues: ['conversion'] })).shutdown();
  await settled();
  const before = threadCount();

  const workers = await startWorkers(config, { queues: ['conversion'] });
  // Three conversion threads (and the workflow threads) run before any job arrives.
  await waitFor(async () => (threadCount() >= before + 3 ? true : undefined), 'the conversion threads to start');
  await workers.shutdown();

  await waitFor(async () => (threadCount() <= before ? true : undefined), `threads back to ${before} (now ${threadCount()})`);
});
