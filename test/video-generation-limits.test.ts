import type { ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { topLevelBoxes } from '../src/emulator/mp4';
import { startProviderEmulator } from '../src/emulator/server';
import { jobFileKey } from '../src/shared/urls';
import { createBlobStore } from '../src/storage';
import { testApp } from './harness/api';
import { KEYS, spawnWorkerProcess, startWorkers, testClient, testConfig, waitFor } from './harness/temporal';
import { getVideoJob, startVideoJob, startVideoStack, videoTestEnv, waitForVideoJobEnd } from './fixtures/video-jobs';

// Limits that must hold across workers, and durability of the wait: the provider-slot
// semaphore and a worker killed while it polls a generation.

let client: Client;
beforeAll(async () => {
  client = await testClient();
});
afterAll(async () => {
  await client?.connection.close();
});

test('with 5 jobs at once, no more than 2 generations are ever in flight at the provider, and all 5 finish', async () => {
  const stack = await startVideoStack(client, { generationMs: 1_500, env: { VIDEO_MAX_IN_FLIGHT: '2' } });
  try {
    const jobs = await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        startVideoJob(stack.app, KEYS.alice, { prompt: `Scene ${n}: a paper boat on a river`, provider: n % 2 ? 'emulator' : 'veo' }),
      ),
    );
    const ended = await Promise.all(jobs.map((j) => waitForVideoJobEnd(stack.app, KEYS.alice, j.jobId, 180_000)));
    expect(ended.map((j) => j.status)).toEqual(['completed', 'completed', 'completed', 'completed', 'completed']);
    const stats = stack.emulator.stats();
    expect(stats.creations.total).toBe(5);
    expect(stats.maxInFlight).toBeLessThanOrEqual(2);
    expect(stats.maxInFlight).toBeGreaterThanOrEqual(1);
    process.stdout.write(
      `video limits: max in flight at the emulator ${stats.maxInFlight} (limit 2), creations ${stats.creations.total}\n`,
    );
  } finally {
    await stack.close();
  }
});

test('a slot held by a job that was terminated (no cleanup ran) is freed for the next job', async () => {
  const stack = await startVideoStack(client, { generationMs: 1_000, env: { VIDEO_MAX_IN_FLIGHT: '1' } });
  try {
    const holder = await startVideoJob(stack.app, KEYS.alice, { prompt: 'Held forever [gen:600000]' });
    await waitFor(
      async () => (await getVideoJob(stack.app, KEYS.alice, holder.jobId)).progress?.phase === 'generating',
      'the first job to hold the slot',
    );
    const waiter = await startVideoJob(stack.app, KEYS.alice, { prompt: 'Next in line' });
    await waitFor(
      async () => (await getVideoJob(stack.app, KEYS.alice, waiter.jobId)).progress?.phase === 'waiting_for_slot',
      'the second job to wait',
    );
    await client.workflow.getHandle(holder.jobId).terminate('operator terminated it');
    // The semaphore notices the holder is gone at its next liveness check (within about 30 s).
    const job = await waitForVideoJobEnd(stack.app, KEYS.alice, waiter.jobId, 150_000);
    expect(job.status).toBe('completed');
  } finally {
    await stack.close();
  }
}, 180_000);

test('a worker SIGKILLed mid-poll: a new worker resumes polling the same provider job; one generation, one stored video', async () => {
  const emulator = await startProviderEmulator({ generationMs: 8_000 });
  const env = videoTestEnv(emulator);
  const config = testConfig(env);
  const app = testApp(config, client);
  let child: ChildProcess | undefined;
  let workers: Awaited<ReturnType<typeof startWorkers>> | undefined;
  try {
    child = await spawnWorkerProcess(config, env);
    const { jobId } = await startVideoJob(app, KEYS.alice, { prompt: 'A hot-air balloon over vineyards' });
    const before = await waitFor(
      async () => {
        const job = await getVideoJob(app, KEYS.alice, jobId);
        return job.progress?.phase === 'generating' && job.progress.polls >= 2 ? job : undefined;
      },
      'the worker to be polling',
      90_000,
    );
    child.kill('SIGKILL');
    await new Promise<void>((resolve) =>
      child!.exitCode !== null || child!.signalCode ? resolve() : child!.once('exit', () => resolve()),
    );

    workers = await startWorkers(config);
    const job = await waitForVideoJobEnd(app, KEYS.alice, jobId, 180_000);
    expect(job.status).toBe('completed');
    expect(job.result!.providerJobId).toBe(before.progress!.providerJobId);
    expect(emulator.stats().creations.total).toBe(1);
    const video = await createBlobStore(config).getBuffer(jobFileKey(jobId, `videos/${jobId}.mp4`));
    expect(topLevelBoxes(video)).toEqual(['ftyp', 'moov', 'mdat']);
    // The start activity ran once: the restarted worker replayed it from history.
    const history = await client.workflow.getHandle(jobId).fetchHistory();
    const starts = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'startVideoGeneration');
    expect(starts).toHaveLength(1);
  } finally {
    if (child && child.exitCode === null && !child.signalCode) child.kill('SIGKILL');
    await workers?.shutdown();
    await emulator.close();
  }
});
