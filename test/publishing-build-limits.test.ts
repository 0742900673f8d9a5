import type { Client } from '@temporalio/client';
import { KEYS, testClient } from './harness/temporal';
import { PublishingStack, startBuild, startPublishingStack, waitForBuildEnd } from './fixtures/publishing-jobs';

// At most BUILDS_PER_MINUTE builds start per minute across all workers: a server-side rate
// limit on the build-runs queue. Scaled up here: 30 a minute (one every 2 s) instead of 5.
// A server splits a task queue into partitions (4 by default), each with its own share of the
// rate and a burst of one, so up to 4 builds can start at once before the rate takes hold (the
// test dev server runs one partition per queue, which is stricter still).

let client: Client;
let stack: PublishingStack;

beforeAll(async () => {
  client = await testClient();
  stack = await startPublishingStack(client, { env: { BUILDS_PER_MINUTE: '30', BUILD_CONCURRENCY: '6' } });
});
afterAll(async () => {
  await stack?.close();
  await client?.connection.close();
});

test('six builds queued at once: at most the partition burst starts at once, the rest wait for the rate', async () => {
  const ids = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      startBuild(stack.app, KEYS.alice, {
        projectId: `p${i}`,
        platform: 'android',
        source: { git: `file://${stack.repo}` },
        version: '2.0.0',
        buildNumber: 500 + i,
      }),
    ),
  );
  for (const id of ids) expect((await waitForBuildEnd(stack.app, KEYS.alice, id, 180_000)).status).toBe('completed');

  const starts: number[] = [];
  for (const id of ids) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const scheduled = new Map<string, string>();
    for (const e of history.events!) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
      const started = e.activityTaskStartedEventAttributes;
      if (started && scheduled.get(String(started.scheduledEventId)) === 'buildArtifact')
        starts.push(Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6));
    }
  }
  starts.sort((a, b) => a - b);
  expect(starts).toHaveLength(6);
  const offsets = starts.map((t) => (t - starts[0]) / 1000);
  process.stdout.write(`build starts (s after the first): ${offsets.map((o) => o.toFixed(1)).join(', ')}\n`);
  // Unlimited, all six start within a second. Limited: at most the partitions' burst at once,
  // and the last two wait for tokens: (6 − 4) starts at 0.5/s take at least 4 s.
  expect(offsets.filter((o) => o < 2).length).toBeLessThanOrEqual(4);
  expect(offsets[5]).toBeGreaterThanOrEqual(4);
}, 240_000);
