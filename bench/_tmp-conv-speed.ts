import { createUrlConverter } from '../src/activities/conversion/convert-url';
import { startTestSite } from '../test/fixtures/test-site';
import { loadConfig } from '../src/config/env';
import { createBlobStore } from '../src/storage';
import { createLogger } from '../src/observability/logger';
import fs from 'node:fs';
async function main() {
  const site = await startTestSite({ latencyMs: Number(process.argv[5] ?? 0) });
  const dir = fs.mkdtempSync('/tmp/djb/data-');
  const config = loadConfig({ DATA_DIR: dir, OUTBOUND_ALLOW_HOSTS: '127.0.0.1' });
  const convert = createUrlConverter({ config, store: createBlobStore(config), logger: createLogger({}, 'error'), now: () => new Date() });
  const N = Number(process.argv[2] ?? 2000); const fmt = (process.argv[3] ?? 'h5p') as 'h5p';
  let next = 0; const t0 = Date.now();
  await Promise.all(Array.from({ length: Number(process.argv[4] ?? 50) }, async () => { while (next < N) { const i = next++; await convert({ jobId: 'j', index: i, url: site.url(`/page/${i}`), format: fmt }); } }));
  const ms = Date.now() - t0;
  console.log(`${N} in ${ms} ms = ${(N / ms * 1000).toFixed(0)}/s, rss ${(process.memoryUsage().rss/1e6).toFixed(0)} MB`);
  await site.close();
}
main();
