import { ApplicationFailure } from '@temporalio/common';
import { BlobStore, ByteRange } from '../src/storage';
import { jobFileKey } from '../src/shared/urls';
import { urlManifestIndexPath } from '../src/workflows/bulk-conversion/contract';
import { createManifestActivities, storeUrlManifest } from '../src/activities/bulk-conversion/manifest';
import {
  loadManifestIndex,
  manifestIndexBuilder,
  openIndexedManifest,
  UrlManifestIndex,
} from '../src/activities/bulk-conversion/manifest-index';
import { createChunkActivities } from '../src/activities/bulk-conversion/chunk';
import type { ConvertUrlInput } from '../src/activities/bulk-conversion/convert-url';
import { MockActivityEnvironment } from '@temporalio/testing';
import { closeStore, eachBlobStore, useTestMinio } from './harness/minio';
import { testConfig, testDeps } from './harness/temporal';

// A stored URL manifest and its line index, on the filesystem store and on S3 (MinIO): the index
// points at the first byte of every 100th line, and a chunk's URLs come back from one ranged read.

/** 250 URLs, some with multi-byte UTF-8 and some with characters JSON escapes. */
const URLS = Array.from({ length: 250 }, (_, i) => {
  if (i % 7 === 0) return `https://例え.jp/パス/${i}?q=${'文'.repeat(i % 13)}😀`;
  if (i % 11 === 0) return `https://example.com/a"quote\\back\tslash\u2028${i}`;
  return `https://example.com/page/${i}`;
});

const minio = useTestMinio();

/** The store, recording the ranges of its reads. */
function recording(inner: BlobStore): { store: BlobStore; gets: { key: string; range?: ByteRange }[] } {
  const gets: { key: string; range?: ByteRange }[] = [];
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'get')
        return (key: string, range?: ByteRange) => {
          gets.push({ key, range });
          return target.get(key, range);
        };
      return Reflect.get(target, prop, receiver);
    },
  });
  return { store, gets };
}

function failureOf(e: unknown): { type?: string; message: string; nonRetryable?: boolean } {
  expect(e).toBeInstanceOf(ApplicationFailure);
  const f = e as ApplicationFailure;
  return { type: f.type ?? undefined, message: f.message, nonRetryable: f.nonRetryable ?? undefined };
}

const stores = eachBlobStore(minio, 'dj-manifest-');

describe.each(stores)('%s store', (_kind, make) => {
  let store: BlobStore;
  beforeEach(() => {
    store = make();
  });
  afterEach(() => closeStore(store));

  test('the index holds the line count, the size and the byte offset of every 100th line', async () => {
    const source = await storeUrlManifest(store, 'job-a', 'hash', URLS);
    expect(source).toEqual({ manifestPath: 'input/urls-hash.jsonl', count: 250, indexed: true });
    const bytes = await store.getBuffer(jobFileKey('job-a', source.manifestPath));
    const lineStarts = [0];
    for (let i = 0; i < bytes.length - 1; i++) if (bytes[i] === 0x0a) lineStarts.push(i + 1);
    expect(lineStarts).toHaveLength(250);
    const stored = JSON.parse((await store.getBuffer(jobFileKey('job-a', 'input/urls-hash.index.json'))).toString()) as UrlManifestIndex;
    expect(stored).toEqual({ lines: 250, bytes: bytes.length, every: 100, offsets: [lineStarts[0], lineStarts[100], lineStarts[200]] });
    // The offsets are bytes, not characters: the multi-byte URLs before line 100 move it.
    expect(lineStarts[100]).toBeGreaterThan(bytes.toString('utf8').split('\n').slice(0, 100).join('\n').length + 1);
  });

  test('windows that straddle index points read back exactly their URLs, each with one ranged read of the manifest', async () => {
    await storeUrlManifest(store, 'job-b', 'hash', URLS);
    const { store: watched, gets } = recording(store);
    const manifest = (await openIndexedManifest(watched, 'job-b', 'input/urls-hash.jsonl'))!;
    const index = (await loadManifestIndex(store, jobFileKey('job-b', 'input/urls-hash.index.json')))!;
    const windows: [number, number][] = [
      [0, 1],
      [0, 100],
      [99, 2],
      [100, 100],
      [37, 163],
      [150, 100],
      [199, 51],
      [249, 1],
      [0, 250],
    ];
    for (const [start, count] of windows) {
      gets.length = 0;
      expect(await manifest.read(start, count)).toEqual(URLS.slice(start, start + count));
      expect(gets).toHaveLength(1);
      const from = index.offsets[Math.floor(start / 100)];
      const to = Math.ceil((start + count) / 100) < 3 ? index.offsets[Math.ceil((start + count) / 100)] - 1 : index.bytes - 1;
      expect(gets[0]).toEqual({ key: jobFileKey('job-b', 'input/urls-hash.jsonl'), range: { start: from, end: to } });
    }
    // Past the end: only what is there.
    expect(await manifest.read(240, 20)).toEqual(URLS.slice(240));
    expect(await manifest.read(250, 10)).toEqual([]);
  });

  test('a line that is not a JSON string is InvalidManifest naming its line', async () => {
    const lines = URLS.map((u, i) => (i === 142 ? '42' : i === 143 ? '{not json' : JSON.stringify(u)));
    const { index, addLine } = manifestIndexBuilder();
    for (const l of lines) addLine(Buffer.byteLength(l) + 1);
    const body = lines.map((l) => `${l}\n`).join('');
    await store.put(jobFileKey('job-c', 'input/urls-hash.jsonl'), body);
    await store.put(jobFileKey('job-c', 'input/urls-hash.index.json'), JSON.stringify(index));
    const manifest = (await openIndexedManifest(store, 'job-c', 'input/urls-hash.jsonl'))!;
    expect(await manifest.read(120, 22)).toEqual(URLS.slice(120, 142));
    const bad = await manifest.read(120, 30).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failureOf(bad)).toEqual({
      type: 'InvalidManifest',
      message: 'line 143 of the URL manifest is not a JSON string',
      nonRetryable: true,
    });
    const unparsable = await manifest.read(143, 5).catch((e: unknown) => e);
    expect(failureOf(unparsable).message).toBe('line 144 of the URL manifest is not a JSON string');
  });

  test('checkUrlManifest: ManifestNotFound without the manifest or its index; InvalidManifest for a wrong count, size or index', async () => {
    const { checkUrlManifest } = createManifestActivities(testDeps(testConfig(), { store }));
    const check = (jobId: string, count = 250) =>
      checkUrlManifest({ jobId, manifestPath: 'input/urls-hash.jsonl', count }).catch((e: unknown) => failureOf(e));

    await storeUrlManifest(store, 'job-ok', 'hash', URLS);
    await expect(check('job-ok')).resolves.toBeUndefined();
    expect(await check('job-ok', 251)).toEqual({
      type: 'InvalidManifest',
      message: 'the URL manifest lists 250 URLs, the job has 251',
      nonRetryable: true,
    });

    expect(await check('job-none')).toEqual({
      type: 'ManifestNotFound',
      message: 'no URL manifest at input/urls-hash.jsonl',
      nonRetryable: true,
    });
    await storeUrlManifest(store, 'job-noindex', 'hash', URLS);
    await store.delete(jobFileKey('job-noindex', urlManifestIndexPath('input/urls-hash.jsonl')));
    expect(await check('job-noindex')).toMatchObject({ type: 'ManifestNotFound' });
    await storeUrlManifest(store, 'job-nomanifest', 'hash', URLS);
    await store.delete(jobFileKey('job-nomanifest', 'input/urls-hash.jsonl'));
    expect(await check('job-nomanifest')).toMatchObject({ type: 'ManifestNotFound' });

    await storeUrlManifest(store, 'job-grown', 'hash', URLS);
    await store.put(
      jobFileKey('job-grown', 'input/urls-hash.jsonl'),
      URLS.map((u) => `${JSON.stringify(u)}\n`).join('') + '"https://x.test/"\n',
    );
    expect(await check('job-grown')).toMatchObject({ type: 'InvalidManifest', message: expect.stringMatching(/its index says/) });

    for (const [jobId, index] of [
      ['job-garbled', 'not json'],
      ['job-short', JSON.stringify({ lines: 250, bytes: 9000, every: 100, offsets: [0, 3000] })],
      ['job-unordered', JSON.stringify({ lines: 250, bytes: 9000, every: 100, offsets: [0, 5000, 4000] })],
      ['job-huge', JSON.stringify({ lines: 250, bytes: 9000, every: 100, offsets: [0, 1, 2], pad: 'x'.repeat(70_000) })],
    ]) {
      await storeUrlManifest(store, jobId, 'hash', URLS);
      await store.put(jobFileKey(jobId, urlManifestIndexPath('input/urls-hash.jsonl')), index);
      expect(await check(jobId)).toMatchObject({ type: 'InvalidManifest', message: expect.stringMatching(/index is (not JSON|invalid)/) });
    }
  });

  test('a chunk converts exactly its own lines of the manifest; one the manifest cannot fill is ChunkInputMissing', async () => {
    await storeUrlManifest(store, 'job-chunk', 'hash', URLS);
    const asked: ConvertUrlInput[] = [];
    const { convertChunk } = createChunkActivities(testDeps(testConfig(), { store }), {
      convertUrl: async (input) => {
        asked.push(input);
        return { artifactPath: `artifacts/${input.index}.md`, bytes: 1, title: 't' };
      },
    });
    const chunk = (start: number, count: number, manifestPath = 'input/urls-hash.jsonl') =>
      new MockActivityEnvironment().run(convertChunk, {
        jobId: 'job-chunk',
        format: 'markdown' as const,
        chunk: start,
        start,
        count,
        manifestPath,
        parallelism: 4,
        mode: 'convert' as const,
        taskId: 1,
      });
    await expect(chunk(130, 70)).resolves.toMatchObject({ succeeded: 70, failed: 0 });
    expect(asked.map((a) => [a.index, a.url]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(
      URLS.slice(130, 200).map((u, i) => [130 + i, u]),
    );
    expect(failureOf(await chunk(200, 60).catch((e: unknown) => e))).toEqual({
      type: 'ChunkInputMissing',
      message: 'chunk 200 should list 60 URLs, found 50',
      nonRetryable: true,
    });
    expect(failureOf(await chunk(0, 10, 'input/urls-gone.jsonl').catch((e: unknown) => e)).message).toBe(
      'chunk 0 should list 10 URLs, found no file',
    );
  });
});
