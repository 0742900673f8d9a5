import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ByteBudget } from '../src/activities/bulk-conversion/byte-budget';
import {
  ConversionPool,
  createConversionPool,
  PAGES_PER_THREAD,
  PageToConvert,
  threadExecArgv,
} from '../src/activities/bulk-conversion/conversion-pool';
import { HOSTILE_PAGES } from './fixtures/test-site';
import { PROJECT_ROOT } from '../src/start/provision-cli';

// The conversion thread pool and the byte budget on their own: real worker threads, no
// Temporal. The bulk-job tests cover the same limits end to end.

const page = (n: number | string, group = 'job-a'): PageToConvert => ({
  html: `<!DOCTYPE html><html><head><title>Page ${n}</title></head><body><article><p>Text of page ${n}, long enough to be the article.</p></article></body></html>`,
  url: `https://pages.example/${n}`,
  format: 'markdown',
  group,
});
const slowPage = (group = 'job-a'): PageToConvert => ({
  html: HOSTILE_PAGES['implied-nesting'].build(),
  url: 'https://pages.example/slow',
  format: 'markdown',
  group,
});

/** A page whose DOM outgrows a 48 MB thread heap. */
const densePage = (): PageToConvert => ({
  html: HOSTILE_PAGES['dense-gzip'].build(),
  url: 'https://pages.example/dense',
  format: 'h5p',
  group: 'a',
});

describe('conversion pool', () => {
  let pool: ConversionPool;
  afterEach(async () => {
    await pool?.close();
  });

  /** Sends `first` and two good pages at once (they share the one thread); the good ones must convert whatever becomes of `first`. */
  async function withTwoPagesBehind(first: PageToConvert) {
    const [outcome, ...behind] = await Promise.all([pool.convert(first), pool.convert(page('behind-1')), pool.convert(page('behind-2'))]);
    expect(behind).toMatchObject([
      { kind: 'converted', title: 'Page behind-1' },
      { kind: 'converted', title: 'Page behind-2' },
    ]);
    return outcome;
  }

  test('converts pages in threads and reports each thread’s peak heap', async () => {
    pool = createConversionPool({ threads: 2, heapBytes: 128 * 1024 * 1024, pageTimeoutMs: 30_000 });
    const outcomes = await Promise.all([1, 2, 3, 4].map((n) => pool.convert(page(n))));
    expect(outcomes.map((o) => o.kind)).toEqual(['converted', 'converted', 'converted', 'converted']);
    const first = outcomes[0];
    if (first.kind !== 'converted') throw new Error('not converted');
    expect(first.title).toBe('Page 1');
    expect(Buffer.from(first.body ?? []).toString('utf8')).toContain('Text of page 1');
    expect(first.bytes).toBe(first.body?.byteLength);
    const stats = pool.stats();
    expect(stats).toMatchObject({ threads: 2, pages: 4, timedOut: 0, outOfMemory: 0 });
    for (const heap of Object.values(stats.peakHeapBytes)) expect(heap).toBeGreaterThan(1024 * 1024);
  });

  test('says when pages pile up for its threads, and tells each page when it reaches one', async () => {
    pool = createConversionPool({ threads: 1, heapBytes: 128 * 1024 * 1024, pageTimeoutMs: 30_000 });
    expect(pool.backlogged()).toBe(false);
    const sent: number[] = [];
    const pages = Array.from({ length: 200 }, (_, n) => pool.convert({ ...page(n), onSent: () => sent.push(n) }));
    // One thread takes PAGES_PER_THREAD at once; the rest wait, more than the pool lets pile up.
    expect(sent.length).toBeLessThanOrEqual(PAGES_PER_THREAD);
    expect(pool.backlogged()).toBe(true);
    const outcomes = await Promise.all(pages);
    expect(outcomes.every((o) => o.kind === 'converted')).toBe(true);
    expect(pool.backlogged()).toBe(false);
    expect(sent).toEqual(Array.from({ length: 200 }, (_, n) => n));
  });

  test('a thread stores the artifact in the local blob file it is given; when it cannot, the bytes come back instead', async () => {
    pool = createConversionPool({ threads: 1, heapBytes: 128 * 1024 * 1024, pageTimeoutMs: 30_000 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-write-'));
    try {
      const file = path.join(dir, '000001.md');
      fs.writeFileSync(`${file}.meta.json`, '{"contentType":"text/plain"}'); // stale sidecar of an earlier put
      const written = await pool.convert({ ...page(1), writeTo: file });
      if (written.kind !== 'converted') throw new Error(`not converted: ${written.kind}`);
      expect(written.body).toBeUndefined();
      expect(fs.readFileSync(file, 'utf8')).toContain('Text of page 1');
      expect(written.bytes).toBe(fs.statSync(file).size);
      expect(fs.readdirSync(dir)).toEqual(['000001.md']); // no temp file, no stale sidecar

      const unwritable = await pool.convert({ ...page(2), writeTo: path.join(dir, 'missing-folder', '000002.md') });
      if (unwritable.kind !== 'converted') throw new Error(`not converted: ${unwritable.kind}`);
      expect(Buffer.from(unwritable.body ?? []).toString('utf8')).toContain('Text of page 2');
      expect(fs.readdirSync(dir)).toEqual(['000001.md']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a page over its time budget fails as too complex; the thread is replaced; time spent queued is not charged', async () => {
    pool = createConversionPool({ threads: 1, heapBytes: 256 * 1024 * 1024, pageTimeoutMs: 2000 });
    // The good page waits ~2 s behind the slow one, yet its own budget starts only when its thread takes it.
    const [slow, good] = await Promise.all([pool.convert(slowPage()), pool.convert(page('after'))]);
    expect(slow).toMatchObject({ kind: 'too-complex', message: expect.stringMatching(/too complex to convert: it needed more than 2 s/) });
    expect(good.kind).toBe('converted');
    expect(pool.stats()).toMatchObject({ timedOut: 1, pages: 1 });
  });

  test('a page that exhausts the thread heap fails as too large; the next page converts', async () => {
    pool = createConversionPool({ threads: 1, heapBytes: 48 * 1024 * 1024, pageTimeoutMs: 60_000 });
    expect(await pool.convert(densePage())).toMatchObject({
      kind: 'too-large',
      message: expect.stringMatching(/more than 48 MB of memory/),
    });
    expect((await pool.convert(page(2))).kind).toBe('converted');
    expect(pool.stats().outOfMemory).toBe(1);
  });

  test('aborting stops a conversion in progress at once and frees its thread', async () => {
    pool = createConversionPool({ threads: 1, heapBytes: 256 * 1024 * 1024, pageTimeoutMs: 120_000 });
    await pool.convert(page('warm-up'));
    const cancel = new AbortController();
    const slow = pool.convert(slowPage(), cancel.signal);
    await new Promise((r) => setTimeout(r, 500));
    const abortedAt = Date.now();
    cancel.abort(new Error('job cancelled'));
    await expect(slow).rejects.toThrow('job cancelled');
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect((await pool.convert(page('next'))).kind).toBe('converted');
  });

  test(`with ${PAGES_PER_THREAD} pages handed to each thread, every result belongs to its own page`, async () => {
    pool = createConversionPool({ threads: 2, heapBytes: 128 * 1024 * 1024, pageTimeoutMs: 30_000 });
    const numbers = Array.from({ length: 300 }, (_, i) => i + 1);
    const outcomes = await Promise.all(numbers.map((n) => pool.convert(page(n, n % 3 ? 'job-a' : 'job-b'))));
    outcomes.forEach((outcome, i) => {
      if (outcome.kind !== 'converted') throw new Error(`page ${numbers[i]}: ${outcome.kind}`);
      expect(outcome.title).toBe(`Page ${numbers[i]}`);
      expect(Buffer.from(outcome.body ?? []).toString('utf8')).toContain(`Text of page ${numbers[i]},`);
    });
    expect(pool.stats()).toMatchObject({ pages: 300, timedOut: 0, outOfMemory: 0 });
  });

  test('pages waiting in a thread behind a page that times out convert on another thread', async () => {
    pool = createConversionPool({ threads: 1, heapBytes: 256 * 1024 * 1024, pageTimeoutMs: 1500 });
    await pool.convert(page('warm-up'));
    // The slow page and the next one go to the one thread together; the thread is terminated under them.
    expect((await withTwoPagesBehind(slowPage())).kind).toBe('too-complex');
    expect(pool.stats()).toMatchObject({ timedOut: 1, pages: 3 });
  });

  test('pages waiting in a thread behind a page that exhausts its heap convert on another thread', async () => {
    pool = createConversionPool({ threads: 1, heapBytes: 48 * 1024 * 1024, pageTimeoutMs: 60_000 });
    expect((await withTwoPagesBehind(densePage())).kind).toBe('too-large');
    expect(pool.stats()).toMatchObject({ outOfMemory: 1, pages: 2 });
  });

  test('pages sent to a thread behind a page that runs long move to another thread before that page ends', async () => {
    pool = createConversionPool({ threads: 2, heapBytes: 256 * 1024 * 1024, pageTimeoutMs: 120_000 });
    await Promise.all([pool.convert(page('warm-up-1')), pool.convert(page('warm-up-2'))]);
    const cancel = new AbortController();
    const slow = pool.convert(slowPage('hostile'), cancel.signal).catch(() => 'cancelled');
    // Both threads get pages; some of them land behind the slow page.
    const quick = Promise.all([1, 2, 3, 4, 5].map((n) => pool.convert(page(n))));
    const first = await Promise.race([slow.then(() => 'slow page'), quick.then(() => 'quick pages')]);
    expect(first).toBe('quick pages');
    expect((await quick).map((o) => o.kind)).toEqual(['converted', 'converted', 'converted', 'converted', 'converted']);
    cancel.abort(new Error('done'));
    await slow;
  });

  test('cancelling a job drops its waiting pages without converting them; other jobs’ pages still convert', async () => {
    pool = createConversionPool({ threads: 1, heapBytes: 256 * 1024 * 1024, pageTimeoutMs: 1500 });
    await pool.convert(page('warm-up'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-cancel-'));
    try {
      const slow = pool.convert(slowPage('other-job'));
      const cancel = new AbortController();
      // The first waits in the thread behind the slow page, the others in the pool.
      const cancelled = [1, 2, 3].map((n) => pool.convert({ ...page(n, 'job-b'), writeTo: path.join(dir, `${n}.md`) }, cancel.signal));
      const after = pool.convert(page('after', 'other-job'));
      cancel.abort(new Error('job cancelled'));
      for (const p of cancelled) await expect(p).rejects.toThrow('job cancelled');
      await expect(pool.convert(page(4, 'job-b'), cancel.signal)).rejects.toThrow('job cancelled');
      expect((await slow).kind).toBe('too-complex');
      expect((await after).kind).toBe('converted');
      expect(fs.readdirSync(dir)).toEqual([]);
      expect(pool.stats()).toMatchObject({ pages: 2, timedOut: 1 }); // the warm-up and `after`
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('jobs take turns at free threads: a queue of one job’s slow pages does not hold another job back', async () => {
    pool = createConversionPool({ threads: 1, heapBytes: 256 * 1024 * 1024, pageTimeoutMs: 1500 });
    await pool.convert(page('warm-up'));
    const order: string[] = [];
    const track = (p: PageToConvert, name: string) => pool.convert(p).then(() => order.push(name));
    await Promise.all([
      track(slowPage('hostile'), 'hostile-1'),
      track(slowPage('hostile'), 'hostile-2'),
      track(slowPage('hostile'), 'hostile-3'),
      track(page(1, 'other'), 'other'),
    ]);
    // FIFO would run the other job's page last; taking turns runs it right after the first slow page.
    expect(order.indexOf('other')).toBe(1);
  });
});

describe('a warm pool', () => {
  let pool: ConversionPool;
  afterEach(async () => {
    await pool?.close();
  });
  const liveThreads = () => pool.stats().liveThreads;
  async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test('starts every thread before the first page and replaces a timed-out thread at once', async () => {
    pool = createConversionPool({ threads: 2, heapBytes: 128 * 1024 * 1024, pageTimeoutMs: 1_000 });
    pool.warm();
    await until(() => liveThreads().length === 2, 'both threads run');
    const before = liveThreads();
    await expect(pool.convert(slowPage())).resolves.toMatchObject({ kind: 'too-complex' });
    // No page waits, yet the pool is back to two threads: one of them new.
    await until(() => liveThreads().length === 2, 'the lost thread is replaced');
    const after = liveThreads();
    expect(after.filter((id) => before.includes(id))).toHaveLength(1);
  });

  test('keeps fresh idle threads, and replaces a thread that converted pages once it idles', async () => {
    pool = createConversionPool({ threads: 1, heapBytes: 128 * 1024 * 1024, pageTimeoutMs: 10_000, idleTimeoutMs: 300 });
    pool.warm();
    await until(() => liveThreads().length === 1, 'the thread runs');
    const [fresh] = liveThreads();
    await new Promise((r) => setTimeout(r, 1_000)); // over three idle timeouts
    expect(liveThreads()).toEqual([fresh]);
    await expect(pool.convert(page(1))).resolves.toMatchObject({ kind: 'converted' });
    await until(() => liveThreads().length === 1 && liveThreads()[0] !== fresh, 'the used thread is replaced');
    await expect(pool.convert(page(2))).resolves.toMatchObject({ kind: 'converted', title: 'Page 2' });
  });
});

test('a warmed pool with idle threads does not keep its process alive', () => {
  const script = `
    const { createConversionPool } = require('./src/activities/bulk-conversion/conversion-pool');
    const pool = createConversionPool({ threads: 2, heapBytes: 64 * 1024 * 1024, pageTimeoutMs: 10000 });
    pool.warm();
    pool.convert({ html: '<title>T</title><article><p>Enough text to be an article here.</p></article>', url: 'https://p.example/', format: 'markdown', group: 'g' })
      .then((o) => console.log(o.kind));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(run.stderr).toBe('');
  expect(run.stdout.trim()).toBe('converted');
  expect(run.status).toBe(0); // exited by itself, threads still idle (the idle timeout is a minute)
});

test('threads get only the profiling flags of the worker process (Node refuses heap flags and loaders there)', () => {
  const workerArgs = ['--max-old-space-size=384', '--import', 'tsx', '--cpu-prof', '--cpu-prof-dir=/tmp/prof', '--heap-prof'];
  expect(threadExecArgv(workerArgs)).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/prof', '--heap-prof']);
});

describe('byte budget', () => {
  test('holds fetched bytes until released; new reservations wait for room instead of failing', async () => {
    const budget = new ByteBudget(100);
    const a = await budget.reserve();
    a.settle(80);
    const b = await budget.reserve(); // 80 < 100: room for one more estimate
    b.settle(30);
    expect(budget.bytesHeld).toBe(110);
    let third = false;
    const c = budget.reserve().then((r) => ((third = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    a.release();
    (await c).release();
    expect(third).toBe(true);
    b.release();
    a.release(); // idempotent
    expect(budget.bytesHeld).toBe(0);
  });

  test('a page larger than the whole budget still goes through, alone', async () => {
    const budget = new ByteBudget(10);
    const big = await budget.reserve();
    big.settle(1000);
    let next = false;
    const waiting = budget.reserve().then((r) => ((next = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(next).toBe(false);
    big.release();
    (await waiting).release();
    expect(budget.bytesHeld).toBe(0);
  });

  test('a waiter whose signal aborts leaves the line', async () => {
    const budget = new ByteBudget(1);
    const held = await budget.reserve();
    const cancel = new AbortController();
    const waiting = budget.reserve(cancel.signal);
    cancel.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    held.release();
    expect(budget.bytesHeld).toBe(0);
  });
});
