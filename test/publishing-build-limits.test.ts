import type { Client } from '@temporalio/client';
import { KEYS, testClient } from './harness/temporal';
import { PublishingStack, startBuild, startPublishingStack, waitForBuildEnd } from './fixtures/publishing-jobs';

// At most BUILDS_PER_MINUTE builds start per minute across all workers: a server-side rate
// limit on the build-runs queue, exact because the queue has one partition (the dev server
// runs every queue with one; see src/start/dev-server.ts). At the seed's 5 a minute: six builds
// queued at once, five start in the first minute and the sixth after it. The matching service's
// burst allowance is fixed in seconds, so a scaled-down rate would not test the same thing.

let client: Client;
let stack: PublishingStack;

beforeAll(async () => {
  client = await testClient();
  stack = await startPublishingStack(client, { env: { BUILDS_PER_MINUTE: '5', BUILD_CONCURRENCY: '6' } });
});
afterAll(async () => {
  await stack?.close();
  await client?.connection.close();
});

test('six builds queued at once: five start in the first minute, the sixth after it', async () => {
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
  for (const id of ids) expect((await waitForBuildEnd(stack.app, KEYS.alice, id, 200_000)).status).toBe('completed');

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
  // Unlimited (or split over 4 partitions), several start within the first seconds; limited,
  // they come about 12 s apart, and no 60 s holds more than five.
  expect(offsets.filter((o) => o < 5).length).toBe(1);
  expect(offsets.filter((o) => o < 60).length).toBe(5);
  expect(offsets[5]).toBeGreaterThanOrEqual(60);
}, 240_000);

test('BUILD_CONCURRENCY=1: a worker runs one build at a time', async () => {
  const single = await startPublishingStack(client, { env: { BUILDS_PER_MINUTE: '600', BUILD_CONCURRENCY: '1' } });
  try {
    const ids = await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        startBuild(single.app, KEYS.alice, {
          projectId: `c${i}`,
          platform: 'android',
          source: { git: `file://${single.repo}` },
          version: '2.1.0',
          buildNumber: 600 + i,
        }),
      ),
    );
    for (const id of ids) expect((await waitForBuildEnd(single.app, KEYS.alice, id)).status).toBe('completed');
    const runs: { started: number; ended: number }[] = [];
    const ms = (t: { seconds?: unknown; nanos?: number | null }) => Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
    for (const id of ids) {
      const events = (await client.workflow.getHandle(id).fetchHistory()).events!;
      const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'buildArtifact')!;
      const started = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled.eventId))!;
      const ended = events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId))!;
      runs.push({ started: ms(started.eventTime!), ended: ms(ended.eventTime!) });
    }
    runs.sort((a, b) => a.started - b.started);
    // Each build starts only once the one before it has ended.
    for (let i = 1; i < runs.length; i++) expect(runs[i].started).toBeGreaterThanOrEqual(runs[i - 1].ended - 50);
  } finally {
    await single.close();
  }
}, 180_000);
