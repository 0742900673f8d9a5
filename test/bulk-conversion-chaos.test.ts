import { BulkConversionResult } from '../src/workflows/bulk-conversion/contract';
import { createBlobStore } from '../src/storage';
import { expectEveryUrlOnce, retriedActivityStarts, startJobDirect } from './fixtures/bulk-jobs';
import { spawnWorkerProcess, testConfig, waitFor } from './harness/temporal';
import { processSuite } from './harness/process-suite';

// A worker process killed with SIGKILL in the middle of a bulk job: a fresh worker picks the
// job up, the interrupted chunks resume from their heartbeats, and every URL ends up in the
// results exactly once.

const suite = processSuite({ latencyMs: 200 });

test('SIGKILL mid-job: a fresh worker finishes it with every URL exactly once', async () => {
  const config = testConfig({ CONVERSION_RETRY_INTERVAL: '200ms' });
  const first = await spawnWorkerProcess(config);
  suite.children.push(first);

  const total = 800;
  const urls = Array.from({ length: total }, (_, i) => suite.site.url(`/page/kill-${i}`));
  const jobId = `bulk-kill-${Date.now()}`;
  const handle = await startJobDirect(suite.client, config, jobId, urls, {
    format: 'markdown',
    concurrency: 20,
    tuning: { chunkSize: 200, chunkParallelism: 10, heartbeatTimeout: '4s' },
  });

  // Kill once the server holds heartbeat checkpoints of the running chunks, well before the end.
  const checkpointed = await waitFor(
    async () => {
      const { raw } = await handle.describe();
      const finished = (raw.pendingActivities ?? []).flatMap((a) => {
        const details = a.heartbeatDetails?.payloads?.[0]?.data;
        return details ? (JSON.parse(Buffer.from(details).toString('utf8')) as { finished: [number][] }).finished.map((f) => f[0]) : [];
      });
      return finished.length >= 60 ? finished : undefined;
    },
    'heartbeat checkpoints with finished URLs',
    90_000,
    100,
  );
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  expect(first.signalCode).toBe('SIGKILL');
  const store = createBlobStore(config);
  expect((await store.list(`jobs/${jobId}/artifacts/`)).length).toBeLessThan(total);

  const second = await spawnWorkerProcess(config);
  suite.children.push(second);
  const result = (await handle.result()) as BulkConversionResult;
  expect(result).toMatchObject({ status: 'completed', total, succeeded: total, failed: 0 });

  await expectEveryUrlOnce(config, jobId, urls);

  // The interrupted chunks were retried and resumed from their last heartbeat: no URL a
  // checkpoint recorded as finished was fetched again.
  const retried = await retriedActivityStarts(handle);
  expect(retried.length).toBeGreaterThan(0);
  for (const index of checkpointed)
    expect({ index, fetches: suite.site.requests.get(`/page/kill-${index}`) }).toEqual({ index, fetches: 1 });
  second.kill('SIGTERM');
});
