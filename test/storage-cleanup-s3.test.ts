import type { Client } from '@temporalio/client';
import { prefixedQueue } from '../src/shared/task-queues';
import { createBlobStore } from '../src/storage';
import { S3BlobStore } from '../src/storage/s3-blob-store';
import { storageCleanup } from '../src/workflows/storage-cleanup';
import { STORAGE_CLEANUP_QUEUE, StorageCleanupResult } from '../src/workflows/storage-cleanup/contract';
import { startTestMinio, TestMinio } from './harness/minio';
import { startWorkers, testClient, testConfig, testDeps } from './harness/temporal';

// The storageCleanup workflow on a real worker whose blob store is S3 (MinIO): job folders whose
// newest object is past retention go, page by page; the others stay whole. S3 sets LastModified
// itself, so instead of backdating objects the worker's clock is moved forward.

const RETENTION = 60 * 60_000;

let client: Client;
let minio: TestMinio;
beforeAll(async () => {
  client = await testClient();
  minio = await startTestMinio();
}, 15 * 60_000);
afterAll(async () => {
  await minio?.stop();
  await client?.connection.close();
});

test('deletes the S3 job folders whose newest object is past retention and counts what it freed', async () => {
  const config = testConfig(minio.s3Config());
  const store = createBlobStore(config) as S3BlobStore;
  const neighbour = createBlobStore(testConfig(minio.s3Config())) as S3BlobStore;
  try {
    // 1,203 objects in one old job: more than one listing page and one DeleteObjects request.
    const many = Array.from({ length: 1203 }, (_, i) => `jobs/old-a/artifacts/${String(i).padStart(6, '0')}.md`);
    for (let i = 0; i < many.length; i += 100) await Promise.all(many.slice(i, i + 100).map((k) => store.put(k, 'x')));
    await store.put('jobs/old-a/results.jsonl', '{"url":"https://example.com"}\n');
    await store.put('jobs/old-b/videos/old-b.mp4', Buffer.alloc(10_000, 2));
    await store.put('jobs/mixed/pages/a.md', 'old page');
    await neighbour.put('jobs/old-n/x.md', 'another prefix: not ours to clean');
    // S3 keeps LastModified to the second: everything above is before `cutoff`, everything below after it.
    const cutoff = Date.now();
    await new Promise((r) => setTimeout(r, 2_100));
    await store.put('jobs/mixed/pages/b.md', 'new page');
    await store.put('jobs/fresh/result.json', '{}');

    const workers = await startWorkers(config, {
      queues: [STORAGE_CLEANUP_QUEUE],
      deps: testDeps(config, { store, now: () => new Date(cutoff + RETENTION) }),
    });
    let result: StorageCleanupResult;
    try {
      result = await client.workflow.execute(storageCleanup, {
        workflowId: `${config.TASK_QUEUE_PREFIX}cleanup-s3`,
        taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, STORAGE_CLEANUP_QUEUE),
        args: [{ retentionMs: RETENTION }],
      });
    } finally {
      await workers.shutdown();
    }
    expect(result).toEqual({ jobsScanned: 4, jobsDeleted: 2, filesDeleted: 1203 + 2, bytesFreed: 1203 + 30 + 10_000 });
    expect(await store.listFolders('jobs/')).toEqual(['fresh', 'mixed']);
    expect(await store.list('jobs/mixed/')).toEqual(['jobs/mixed/pages/a.md', 'jobs/mixed/pages/b.md']);
    expect(await neighbour.list('jobs/')).toEqual(['jobs/old-n/x.md']);
  } finally {
    store.close();
    neighbour.close();
  }
});
