// Micro-benchmark of the conversion thread pool alone: no fetches, no Temporal. Pushes N
// copies of the test site's `/page/<n>` page through the pool with a fixed number of pages
// in flight (as the chunk activity keeps them) and prints pages/s and CPU per page: of the
// main thread (what the pool costs the worker's event loop) and of the whole process
// (conversion threads included).
//
//   npm run bench:pool -- [--pages 20000] [--in-flight 100] [--threads 0] [--format h5p|markdown]
//                         [--data-dir DIR] [--no-write]
//
// Artifacts are written by the threads into DIR (default /dev/shm when it exists), as on a
// local blob store; --no-write returns them to the main thread instead.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createConversionPool, PageToConvert } from '../src/activities/bulk-conversion/conversion-pool';
import { CONVERSION_FORMATS, ConversionFormat } from '../src/workflows/bulk-conversion/formats';
import { generatedPage } from '../test/fixtures/test-site';
import { cpuSeconds } from './proc-stats';

const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: '20000' },
    'in-flight': { type: 'string', default: '100' },
    threads: { type: 'string', default: '0' },
    format: { type: 'string', default: 'h5p' },
    'data-dir': { type: 'string', default: fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir() },
    'no-write': { type: 'boolean', default: false },
  },
});

const pages = Number(args.pages);
const inFlight = Number(args['in-flight']);
const format = args.format as ConversionFormat;
if (!CONVERSION_FORMATS.includes(format)) throw new Error(`--format must be one of ${CONVERSION_FORMATS.join(', ')}`);
/** Pages run before measuring: threads started, code optimized. */
const WARM_UP_PAGES = 2000;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(args['data-dir'], 'bench-pool-'));
  const pool = createConversionPool({ threads: Number(args.threads), heapBytes: 256 * 1024 * 1024, pageTimeoutMs: 10_000 });
  // One signal per lane of the window, as the chunk activity passes them.
  const lanes = Array.from({ length: inFlight }, () => new AbortController());
  try {
    await run(pool, dir, WARM_UP_PAGES, lanes, 'warm');
    const mainBefore = cpuSeconds(process.pid, process.pid);
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    await run(pool, dir, pages, lanes, 'page');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const mainCpu = cpuSeconds(process.pid, process.pid) - mainBefore;
    const cpu = process.cpuUsage(cpuBefore);
    const processCpu = (cpu.user + cpu.system) / 1e6;
    const { threads, peakHeapBytes } = pool.stats();
    const perPage = (s: number) => `${((s * 1e6) / pages).toFixed(0)} µs per page`;
    console.log(
      `pages             ${pages} (${format}, ${inFlight} in flight, ${threads} threads, ${args['no-write'] ? 'bytes returned' : `written to ${args['data-dir']}`})`,
    );
    console.log(`wall time         ${seconds.toFixed(2)} s (${(pages / seconds).toFixed(0)} pages/s)`);
    console.log(`main thread CPU   ${mainCpu.toFixed(2)} s (${perPage(mainCpu)})`);
    console.log(`process CPU       ${processCpu.toFixed(2)} s (${perPage(processCpu)}, threads included)`);
    console.log(
      `thread peak heap  ${Object.values(peakHeapBytes)
        .map((b) => `${(b / 1024 / 1024).toFixed(0)} MB`)
        .join(', ')}`,
    );
  } finally {
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Converts `count` pages keeping `lanes.length` in flight. */
async function run(
  pool: ReturnType<typeof createConversionPool>,
  dir: string,
  count: number,
  lanes: AbortController[],
  prefix: string,
): Promise<void> {
  let next = 0;
  const lane = async (signal: AbortSignal) => {
    while (next < count) {
      const n = next++;
      const page: PageToConvert = {
        html: generatedPage(n),
        url: `http://site.example/page/${n}`,
        format,
        group: 'bench-job',
        ...(args['no-write'] ? {} : { writeTo: path.join(dir, `${prefix}-${n}.${format === 'h5p' ? 'h5p' : 'md'}`) }),
      };
      const outcome = await pool.convert(page, signal);
      if (outcome.kind !== 'converted') throw new Error(`page ${n}: ${outcome.kind}`);
    }
  };
  await Promise.all(lanes.map((l) => lane(l.signal)));
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
