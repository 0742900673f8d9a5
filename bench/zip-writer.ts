// Benchmark: our synchronous zip writer against fflate's zipSync on the packages bulk
// conversion builds (h5p.json + content/content.json), small and large.
//
//   npx tsx bench/zip-writer.ts [--rounds N]
//
// Prints µs per package and the archive size for each; the bulk job builds one package per URL.
import { parseArgs } from 'node:util';
import { strToU8, zipSync } from 'fflate';
import { buildZip } from '../src/activities/bulk-conversion/zip-writer';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '20000' } } });
const rounds = Number(args.rounds);

const h5pJson = JSON.stringify({ title: 'Page 42', language: 'en', mainLibrary: 'H5P.Column', embedTypes: ['div'], license: 'U' });
const content = (paragraphs: number) =>
  JSON.stringify({
    content: Array.from({ length: paragraphs }, (_, i) => ({
      params: { text: `<p>Paragraph ${i} about durable execution and retries.</p>` },
    })),
  });

const cases = { 'typical page (1 section)': content(4), 'long article (200 sections)': content(200) };

function time(fn: () => Uint8Array, n: number): { us: number; bytes: number } {
  let bytes = 0;
  for (let i = 0; i < Math.min(n, 500); i++) bytes = fn().length; // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return { us: Number(process.hrtime.bigint() - t0) / 1000 / n, bytes };
}

for (const [name, json] of Object.entries(cases)) {
  const n = json.length > 10_000 ? Math.ceil(rounds / 10) : rounds;
  const ours = time(
    () =>
      buildZip([
        { name: 'h5p.json', data: h5pJson },
        { name: 'content/content.json', data: json },
      ]),
    n,
  );
  const theirs = time(() => zipSync({ 'h5p.json': strToU8(h5pJson), 'content/content.json': strToU8(json) }, { level: 6 }), n);
  // Same policy as ours: entries under 1 KB stored, the rest deflated.
  const level = (data: Uint8Array) => (data.length < 1024 ? 0 : 6);
  const theirsStored = time(() => {
    const a = strToU8(h5pJson);
    const b = strToU8(json);
    return zipSync({ 'h5p.json': [a, { level: level(a) }], 'content/content.json': [b, { level: level(b) }] });
  }, n);
  console.log(`${name}: content.json ${json.length} B`);
  console.log(`  ours (node:zlib)   ${ours.us.toFixed(1)} µs per package, ${ours.bytes} B`);
  console.log(`  fflate zipSync     ${theirs.us.toFixed(1)} µs per package, ${theirs.bytes} B (every entry deflated)`);
  console.log(`  fflate, < 1 KB stored ${theirsStored.us.toFixed(1)} µs per package, ${theirsStored.bytes} B`);
}
