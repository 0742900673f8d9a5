import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildRuntime, builtEntry, RuntimeBuild } from '../src/start/runtime-build';

// The build `npm start`, `npm run worker` and the container run: a small project of its own,
// compiled by the real esbuild and run by a real node.

let root: string;
let bundles: number;

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), text);
}

const build = (bundleMs = 0): Promise<RuntimeBuild> =>
  buildRuntime({
    root,
    bundleWorkflows: async () => {
      bundles++;
      await new Promise((r) => setTimeout(r, bundleMs));
      return '/* workflows */';
    },
  });

const run = (b: RuntimeBuild, entry: string): unknown =>
  JSON.parse(execFileSync(process.execPath, [builtEntry(b, entry)], { encoding: 'utf8' }));
const current = () => fs.readlinkSync(path.join(root, 'dist', 'current'));
const builds = () => fs.readdirSync(path.join(root, 'dist')).filter((n) => /^[0-9a-f]{16}$/.test(n));

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-build-'));
  bundles = 0;
  write('package.json', JSON.stringify({ name: 'app', config: { heapMb: '384' } }));
  write('package-lock.json', '{}');
  write(
    'src/worker/main.ts',
    [
      "import packageJson from '../../package.json';",
      "import { greet } from '../shared/greet';",
      'const limit: number = Number(packageJson.config.heapMb);',
      "console.log(JSON.stringify({ greeting: greet('tides'), limit, dir: __dirname, sibling: require.resolve('./sibling') }));",
    ].join('\n'),
  );
  write('src/worker/sibling.ts', 'export const sibling = 1;\n');
  write('src/shared/greet.ts', 'export function greet(name: string): string {\n  return `hello ${name}`;\n}\n');
  write('src/shared/reaper.cjs', 'module.exports = 1;\n');
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test('compiles every source to JavaScript in the same layout, with package.json, other files and the workflow bundle beside it', async () => {
  const b = await build();
  expect(b.built).toBe(true);
  expect(path.dirname(b.dir)).toBe(path.join(root, 'dist'));
  expect(run(b, 'src/worker/main.ts')).toEqual({
    greeting: 'hello tides',
    limit: 384,
    dir: path.join(b.dir, 'src', 'worker'),
    sibling: path.join(b.dir, 'src', 'worker', 'sibling.js'), // a build never reaches back into src/
  });
  expect(fs.readFileSync(path.join(b.dir, 'src', 'shared', 'reaper.cjs'), 'utf8')).toBe('module.exports = 1;\n');
  expect(fs.readFileSync(b.workflowBundlePath, 'utf8')).toBe('/* workflows */');
  expect(current()).toBe(path.basename(b.dir));
  expect(fs.readdirSync(path.join(root, 'dist')).sort()).toEqual([path.basename(b.dir), 'current']); // no temporary folder left
});

test('an unchanged tree reuses its build; a changed source, package.json, lock or tsconfig makes a new one', async () => {
  const first = await build();
  const again = await build();
  expect(again).toEqual({ ...first, built: false });
  expect(bundles).toBe(1);

  write('src/shared/greet.ts', 'export function greet(name: string): string {\n  return `ahoy ${name}`;\n}\n');
  const changed = await build();
  expect(changed.built).toBe(true);
  expect(changed.dir).not.toBe(first.dir);
  expect(run(changed, 'src/worker/main.ts')).toMatchObject({ greeting: 'ahoy tides' });
  expect(run(first, 'src/worker/main.ts')).toMatchObject({ greeting: 'hello tides' }); // a process of the old build keeps its files
  expect(current()).toBe(path.basename(changed.dir));

  write('package-lock.json', '{"lockfileVersion": 3}');
  expect((await build()).dir).not.toBe(changed.dir);
  write('package.json', JSON.stringify({ name: 'app', config: { heapMb: '512' } }));
  const relimited = await build();
  expect(run(relimited, 'src/worker/main.ts')).toMatchObject({ limit: 512 });
  write('tsconfig.json', '{"compilerOptions": {"target": "ES2022"}}'); // esbuild reads it
  expect((await build()).dir).not.toBe(relimited.dir);
});

test('keeps the newest build and two older ones; going back to an old tree reuses it and makes it the newest', async () => {
  const dirs: string[] = [];
  for (const word of ['a', 'b', 'c', 'd']) {
    write('src/shared/word.ts', `export const word = '${word}';\n`);
    dirs.push((await build()).dir);
    await new Promise((r) => setTimeout(r, 20)); // distinct folder times
  }
  expect(builds().sort()).toEqual(
    dirs
      .slice(1)
      .map((d) => path.basename(d))
      .sort(),
  );

  write('src/shared/word.ts', "export const word = 'b';\n");
  const back = await build();
  expect(back).toMatchObject({ dir: dirs[1], built: false });
  expect(current()).toBe(path.basename(dirs[1]));
  await new Promise((r) => setTimeout(r, 20));
  write('src/shared/word.ts', "export const word = 'e';\n");
  const e = await build();
  // c is now the oldest: b was used again after it.
  expect(builds().sort()).toEqual([dirs[1], dirs[3], e.dir].map((d) => path.basename(d)).sort());
});

test('concurrent builds of one tree end with one complete build that both use', async () => {
  const [a, b] = await Promise.all([build(200), build(200)]);
  expect(a.dir).toBe(b.dir);
  expect(run(a, 'src/worker/main.ts')).toMatchObject({ greeting: 'hello tides' });
  expect(fs.readdirSync(path.join(root, 'dist')).sort()).toEqual([path.basename(a.dir), 'current']);
});

test('a source that does not compile fails the build with its file and line, and leaves the current build in place', async () => {
  const good = await build();
  write('src/shared/greet.ts', 'export function greet(name: string): string {\n  return `hello ${name}`;\n'); // no closing brace
  await expect(build()).rejects.toThrow(/greet\.ts:3/);
  expect(current()).toBe(path.basename(good.dir));
  expect(fs.readdirSync(path.join(root, 'dist')).sort()).toEqual([path.basename(good.dir), 'current']);
});

test('a build folder left by a process that died while building is removed by a later build, a fresh one is not', async () => {
  const dist = path.join(root, 'dist');
  fs.mkdirSync(path.join(dist, '.building-abandoned', 'src'), { recursive: true });
  fs.mkdirSync(path.join(dist, '.building-in-progress'), { recursive: true });
  fs.symlinkSync('0000000000000000', path.join(dist, '.current-4242'));
  const hourAgo = new Date(Date.now() - 3600_000);
  fs.utimesSync(path.join(dist, '.building-abandoned'), hourAgo, hourAgo);
  fs.lutimesSync(path.join(dist, '.current-4242'), hourAgo, hourAgo);
  const b = await build();
  expect(fs.readdirSync(dist).sort()).toEqual(['.building-in-progress', path.basename(b.dir), 'current']);
});
