import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createStorageCleanupActivities } from '../src/activities/storage-cleanup';
import { AppConfig, ConfigError, loadConfig } from '../src/config/env';
import { storageCleanupScheduleId, StorageCleanupResult } from '../src/workflows/storage-cleanup/contract';
import { prefixedQueue } from '../src/shared/task-queues';
import { FsBlobStore } from '../src/storage/fs-blob-store';
import { ensureJobSchedules } from '../src/worker/workers';
import { RunningWorkers, spawnWorkerProcess, startWorkers, testClient, testConfig, testDeps, waitFor } from './harness/temporal';
import { storageCleanup } from '../src/workflows/storage-cleanup';
import { STORAGE_CLEANUP_QUEUE } from '../src/workflows/storage-cleanup/contract';

// Scheduled storage cleanup against a real dev server and a real filesystem blob store:
// what gets deleted, what stays, and the Temporal Schedule that runs it.

const DAY = 86_400_000;
const longAgo = new Date(Date.now() - 40 * DAY);

const blobRoot = (config: AppConfig) => path.join(config.dataDir, 'blobs');
const jobDir = (config: AppConfig, jobId: string) => path.join(blobRoot(config), 'jobs', jobId);

/** Sets the modification time of every file under `dir` (sidecars included). */
function backdate(dir: string, when: Date, only?: (file: string) => boolean): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && (!only || only(file))) fs.utimesSync(file, when, when);
  }
}

/**
 * Four jobs: two whose files are all 40 days old, one with old files and one fresh file
 * (a job still running), one written just now. Returns what a 30-day cleanup must free.
 */
async function seedJobs(config: AppConfig): Promise<{ expired: string[]; kept: string[]; files: number; bytes: number }> {
  const store = new FsBlobStore(blobRoot(config));
  const oldA = [
    await store.put('jobs/old-a/results.jsonl', '{"url":"https://example.com"}\n'),
    await store.put('jobs/old-a/pages/one.md', '# One\n\nsome text'),
    await store.put('jobs/old-a/pages/deep/two.h5p', Buffer.alloc(4096, 1), { contentType: 'application/octet-stream' }),
  ];
  const oldB = [await store.put('jobs/old-b/videos/old-b.mp4', Buffer.alloc(10_000, 2))];
  await store.put('jobs/mixed/pages/a.md', 'old page');
  await store.put('jobs/mixed/pages/b.md', 'new page');
  await store.put('jobs/fresh/result.json', '{}');
  backdate(jobDir(config, 'old-a'), longAgo);
  backdate(jobDir(config, 'old-b'), longAgo);
  backdate(jobDir(config, 'mixed'), longAgo, (f) => f.endsWith('a.md'));
  const deleted = [...oldA, ...oldB];
  return { expired: ['old-a', 'old-b'], kept: ['fresh', 'mixed'], files: deleted.length, bytes: deleted.reduce((n, b) => n + b.bytes, 0) };
}

function expectCleaned(config: AppConfig, seeded: Awaited<ReturnType<typeof seedJobs>>, result: StorageCleanupResult): void {
  expect(result).toEqual({ jobsScanned: 4, jobsDeleted: 2, filesDeleted: seeded.files, bytesFreed: seeded.bytes });
  for (const id of seeded.expired) expect(fs.existsSync(jobDir(config, id))).toBe(false);
  // Folders of kept jobs keep every file, old ones included.
  expect(fs.readdirSync(path.join(blobRoot(config), 'jobs')).sort()).toEqual(seeded.kept);
  expect(fs.readFileSync(path.join(jobDir(config, 'mixed'), 'pages', 'a.md'), 'utf8')).toBe('old page');
  expect(fs.existsSync(path.join(jobDir(config, 'fresh'), 'result.json'))).toBe(true);
}

describe('storage cleanup', () => {
  let client: Client;
  const schedulesToDelete: string[] = [];
  beforeAll(async () => {
    client = await testClient();
  });
  afterAll(async () => {
    for (const id of schedulesToDelete)
      await client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    await client.connection.close();
  });

  test('CLEANUP_SCHEDULE and ARTIFACT_RETENTION are validated, with defaults', () => {
    const config = testConfig();
    expect(config.CLEANUP_SCHEDULE).toBe('0 3 * * *');
    expect(config.ARTIFACT_RETENTION).toBe(30 * DAY);
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (e) {
        return (e as ConfigError).problems.map((p) => p.variable);
      }
    };
    expect(problems({ CLEANUP_SCHEDULE: '0 25 * * *' })).toEqual(['CLEANUP_SCHEDULE']);
    expect(problems({ CLEANUP_SCHEDULE: 'every day' })).toEqual(['CLEANUP_SCHEDULE']);
    expect(problems({ ARTIFACT_RETENTION: '0s' })).toEqual(['ARTIFACT_RETENTION']);
    expect(problems({ ARTIFACT_RETENTION: 'forever' })).toEqual(['ARTIFACT_RETENTION']);
    expect(loadConfig({ CLEANUP_SCHEDULE: '*/15 1-5 * JAN,JUL MON-FRI', ARTIFACT_RETENTION: '7d' })).toMatchObject({
      ARTIFACT_RETENTION: 7 * DAY,
    });
    expect(loadConfig({ CLEANUP_SCHEDULE: '@daily' }).CLEANUP_SCHEDULE).toBe('@daily');
  });

  describe('the storageCleanup workflow on the maintenance queue', () => {
    const config = testConfig();
    let workers: RunningWorkers;
    beforeAll(async () => {
      workers = await startWorkers(config, { queues: [STORAGE_CLEANUP_QUEUE] });
    });
    afterAll(async () => {
      await workers.shutdown();
    });

    test('deletes job folders whose newest file is past retention, keeps the others, and counts', async () => {
      const seeded = await seedJobs(config);
      const result = await client.workflow.execute(storageCleanup, {
        workflowId: `${config.TASK_QUEUE_PREFIX}cleanup`,
        taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, STORAGE_CLEANUP_QUEUE),
        args: [{ retentionMs: config.ARTIFACT_RETENTION }],
      });
      expectCleaned(config, seeded, result as StorageCleanupResult);

      // Nothing left to do: a second run scans the two kept jobs and deletes nothing.
      const again = await client.workflow.execute(storageCleanup, {
        workflowId: `${config.TASK_QUEUE_PREFIX}cleanup-again`,
        taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, STORAGE_CLEANUP_QUEUE),
        args: [{ retentionMs: config.ARTIFACT_RETENTION }],
      });
      expect(again).toEqual({ jobsScanned: 2, jobsDeleted: 0, filesDeleted: 0, bytesFreed: 0 });
    });

    test('a retention of zero or less is refused without deleting anything', async () => {
      const handle = await client.workflow.start(storageCleanup, {
        workflowId: `${config.TASK_QUEUE_PREFIX}cleanup-bad`,
        taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, STORAGE_CLEANUP_QUEUE),
        args: [{ retentionMs: 0 }],
      });
      await expect(handle.result()).rejects.toThrow();
      const history = await handle.fetchHistory();
      const failed = history.events!.find((e) => e.activityTaskFailedEventAttributes);
      expect(failed!.activityTaskFailedEventAttributes!.failure!.applicationFailureInfo!.type).toBe('InvalidRetention');
      expect(fs.readdirSync(path.join(blobRoot(config), 'jobs')).sort()).toEqual(['fresh', 'mixed']);
    });
  });

  test('an attempt resumes after the last job folder its predecessor heartbeated', async () => {
    const config = testConfig();
    await seedJobs(config);
    // The earlier attempt got through fresh, mixed and old-a (folders go in sorted order) before it died.
    const earlier: StorageCleanupResult = { jobsScanned: 3, jobsDeleted: 1, filesDeleted: 3, bytesFreed: 100 };
    const heartbeats: unknown[] = [];
    const env = new MockActivityEnvironment({ heartbeatDetails: { doneThrough: 'old-a', totals: earlier } });
    env.on('heartbeat', (d: unknown) => heartbeats.push(d));
    const { deleteExpiredJobFiles } = createStorageCleanupActivities(testDeps(config));
    const result = await env.run(deleteExpiredJobFiles, { retentionMs: config.ARTIFACT_RETENTION });
    expect(result).toEqual({ jobsScanned: 4, jobsDeleted: 2, filesDeleted: 4, bytesFreed: 100 + 10_000 });
    expect(heartbeats.at(-1)).toEqual({ doneThrough: 'old-b', totals: result });
    // Only old-b was looked at again: old-a counts as done, so its (seeded) folder is still there.
    expect(fs.readdirSync(path.join(blobRoot(config), 'jobs')).sort()).toEqual(['fresh', 'mixed', 'old-a']);
  });

  describe('the storage-cleanup schedule', () => {
    test('ensureJobSchedules creates it once, is idempotent, updates it and leaves a pause alone', async () => {
      const config = testConfig();
      const scheduleId = storageCleanupScheduleId(config.TASK_QUEUE_PREFIX);
      schedulesToDelete.push(scheduleId);

      expect(await ensureJobSchedules(client, config, [STORAGE_CLEANUP_QUEUE])).toEqual([{ scheduleId, change: 'created', paused: false }]);
      expect(await ensureJobSchedules(client, config, [STORAGE_CLEANUP_QUEUE])).toEqual([
        { scheduleId, change: 'unchanged', paused: false },
      ]);
      const handle = client.schedule.getHandle(scheduleId);
      const d = await handle.describe();
      expect(d.action).toMatchObject({
        type: 'startWorkflow',
        workflowType: storageCleanup.name,
        taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, STORAGE_CLEANUP_QUEUE),
        args: [{ retentionMs: 30 * DAY }],
        memo: { cron: '0 3 * * *' },
      });
      expect(d.policies).toMatchObject({ overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: DAY });
      expect(d.spec.calendars).toEqual([
        expect.objectContaining({ hour: [{ start: 3, end: 3, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] }),
      ]);
      for (const t of d.info.nextActionTimes) expect([t.getUTCHours(), t.getUTCMinutes()]).toEqual([3, 0]);

      const listed = await waitFor(async () => {
        const ids: string[] = [];
        for await (const s of client.schedule.list()) if (s.scheduleId.startsWith(config.TASK_QUEUE_PREFIX)) ids.push(s.scheduleId);
        return ids.length ? ids : undefined;
      }, 'the schedule to be listed');
      expect(listed).toEqual([scheduleId]);

      // An operator pauses it; a new deployment changes the cron and retention.
      await handle.pause('paused by the test operator');
      const changed = { ...config, CLEANUP_SCHEDULE: '30 4 * * 1', ARTIFACT_RETENTION: 7 * DAY };
      expect(await ensureJobSchedules(client, changed, [STORAGE_CLEANUP_QUEUE])).toEqual([{ scheduleId, change: 'updated', paused: true }]);
      expect(await ensureJobSchedules(client, changed, [STORAGE_CLEANUP_QUEUE])).toEqual([
        { scheduleId, change: 'unchanged', paused: true },
      ]);
      const after = await handle.describe();
      expect(after.state).toMatchObject({ paused: true, note: 'paused by the test operator' });
      expect(after.action).toMatchObject({ args: [{ retentionMs: 7 * DAY }], memo: { cron: '30 4 * * 1' } });
      expect(after.spec.calendars).toEqual([
        expect.objectContaining({ hour: [{ start: 4, end: 4, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }] }),
      ]);
    });

    test('a worker serving the maintenance queue creates it at startup; one serving other queues does not', async () => {
      const config = testConfig();
      const scheduleId = storageCleanupScheduleId(config.TASK_QUEUE_PREFIX);
      schedulesToDelete.push(scheduleId);
      const others = await spawnWorkerProcess(config, { WORKER_TASK_QUEUES: 'webhooks' });
      others.kill('SIGTERM');
      await new Promise((r) => others.once('exit', r));
      await expect(client.schedule.getHandle(scheduleId).describe()).rejects.toThrow(/not found/i);

      const worker = await spawnWorkerProcess(config, { WORKER_TASK_QUEUES: 'maintenance', CLEANUP_SCHEDULE: '15 2 * * *' });
      try {
        const d = await client.schedule.getHandle(scheduleId).describe();
        expect(d.action).toMatchObject({ workflowType: storageCleanup.name, memo: { cron: '15 2 * * *' } });
        expect(d.state.paused).toBe(false);
      } finally {
        worker.kill('SIGTERM');
        await new Promise((r) => worker.once('exit', r));
      }
    });

    test('triggering it with workers running completes a storageCleanup run that deleted the old files', async () => {
      const config = testConfig();
      const scheduleId = storageCleanupScheduleId(config.TASK_QUEUE_PREFIX);
      schedulesToDelete.push(scheduleId);
      const seeded = await seedJobs(config);
      await ensureJobSchedules(client, config, [STORAGE_CLEANUP_QUEUE]);
      const workers = await startWorkers(config, { queues: [STORAGE_CLEANUP_QUEUE] });
      try {
        const handle = client.schedule.getHandle(scheduleId);
        await handle.trigger();
        const started = await waitFor(
          async () => (await handle.describe()).info.recentActions[0]?.action.workflow,
          'the schedule to start a run',
        );
        expect(started.workflowId.startsWith(scheduleId)).toBe(true);
        const run = client.workflow.getHandle(started.workflowId, started.firstExecutionRunId);
        const result = (await run.result()) as StorageCleanupResult;
        expectCleaned(config, seeded, result);
        const described = await run.describe();
        expect(described.type).toBe(storageCleanup.name);
        expect(described.taskQueue).toBe(prefixedQueue(config.TASK_QUEUE_PREFIX, STORAGE_CLEANUP_QUEUE));
        expect(described.status.name).toBe('COMPLETED');
      } finally {
        await workers.shutdown();
      }
    });
  });
});
