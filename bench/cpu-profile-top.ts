// Reads V8 CPU profiles (from `npm run bench:bulk -- --cpu-prof DIR`) and prints, per file, the
// functions and packages with the most self time and their share of the busy time.
//
//   npx tsx bench/cpu-profile-top.ts DIR/*.cpuprofile [--top N] [--since SECONDS]
//
// Samples are wall-clock: on a loaded machine a thread that was runnable but not running is
// charged to the function it was in, so compare shares between runs, and CPU from /proc for totals.
import fs from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, since: { type: 'string', default: '0' } },
});
const top = Number(values.top);
const sinceUs = Number(values.since) * 1e6;

/** Idle: an event loop waiting (a conversion thread's too, between pages); atomicsWaitLoop is a thread blocked in Atomics.wait. */
const isIdle = (f: ProfileNode['callFrame']) => f.functionName === '(idle)' || f.functionName === 'atomicsWaitLoop';
const shortUrl = (url: string) =>
  url
    .replace(/^.*node_modules\//, '')
    .replace(/^file:\/\/\/tmp\/durable-jobs\/page-thread-\w+\.cjs$/, '(conversion thread bundle)')
    .replace(/^.*\/src\//, 'src/');
const packageOf = (url: string) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url ? shortUrl(url) : '(native)');

for (const file of positionals) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  let t = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (t < sinceUs) continue;
    const frame = byId.get(profile.samples[i])!.callFrame;
    if (isIdle(frame)) {
      idle += dt;
      continue;
    }
    busy += dt;
    const name = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + dt);
    const pkg = packageOf(frame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt);
  }
  console.log(`\n${file}\n  busy ${(busy / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`);
  const print = (title: string, m: Map<string, number>) => {
    console.log(`  ${title}`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`  ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`);
  };
  print('self time by function', byFunction);
  print('self time by package or file', byPackage);
}
