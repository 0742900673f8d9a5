import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// A tiny app repository whose `npm run build:ios` / `build:android` print progress lines and
// write a real .ipa / .aab (zip) into dist/, stamped with APP_VERSION and BUILD_NUMBER. `npm start`
// makes one under DATA_DIR so a publishing build runs with no setup; the tests make their own.
// Each branch builds differently: main (works), slow (many lines), fail (exits 1), hang (ignores
// SIGTERM and leaves a grandchild), none (no artifact).

export interface SampleAppOptions {
  /** Progress lines before the artifact is written (default 3). */
  lines?: number;
  /** Pause between progress lines (default 100 ms). */
  stepMs?: number;
  /** Lines and pause on the `slow` branch (default 40 × 250 ms). */
  slow?: { lines: number; stepMs: number };
}

const BUILD_SCRIPT = String.raw`'use strict';
// Sample build: prints progress, then packs dist/<name>.ipa or .aab as a stored zip.
const fs = require('fs');
const zlib = require('zlib');
const { spawn } = require('child_process');
const platform = process.argv[2];
const cfg = JSON.parse(fs.readFileSync('build-config.json', 'utf8'));
const version = process.env.APP_VERSION || '1.0.0';
const build = process.env.BUILD_NUMBER || '1';
console.log('building ' + platform + ' ' + version + ' (' + build + ') in ' + cfg.mode + ' mode');
const secrets = Object.keys(process.env).filter((k) => /^(ASC_|PLAY_|WEBHOOK_SECRET|API_KEYS|TEMPORAL_)/.test(k));
console.log('secrets visible: ' + (secrets.join(',') || 'none'));
if (cfg.mode === 'hang') {
  process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
  const child = spawn('sleep', ['3600'], { stdio: 'ignore' });
  console.log('helper pid ' + child.pid);
  setInterval(() => console.log('still working'), 500);
  return;
}
let i = 0;
function step() {
  if (i < cfg.lines) {
    i++;
    console.log('step ' + i + '/' + cfg.lines);
    setTimeout(step, cfg.stepMs);
    return;
  }
  if (cfg.mode === 'fail') {
    console.error('error: compilation failed in src/main.ts:42');
    process.exit(1);
  }
  if (cfg.mode === 'none') return console.log('done, but no artifact');
  fs.mkdirSync('dist', { recursive: true });
  const out = platform === 'ios' ? 'dist/Sample.ipa' : 'dist/sample.aab';
  fs.writeFileSync(out, zip(platform === 'ios' ? iosFiles() : androidFiles()));
  console.log('wrote ' + out);
}
function iosFiles() {
  const plist = '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>' +
    '<key>CFBundleIdentifier</key><string>com.example.sample</string>' +
    '<key>CFBundleShortVersionString</key><string>' + version + '</string>' +
    '<key>CFBundleVersion</key><string>' + build + '</string></dict></plist>\n';
  return [['Payload/Sample.app/', ''], ['Payload/Sample.app/Info.plist', plist], ['Payload/Sample.app/Sample', 'binary']];
}
function androidFiles() {
  const manifest = '<manifest package="com.example.sample" android:versionCode="' + build + '" android:versionName="' + version + '"/>\n';
  return [['base/manifest/AndroidManifest.xml', manifest], ['base/dex/classes.dex', 'dex'], ['BundleConfig.pb', '']];
}
function zip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [n, text] of entries) {
    const name = Buffer.from(n);
    const data = Buffer.from(text);
    const crc = zlib.crc32(data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(data.length, 18); lh.writeUInt32LE(data.length, 22); lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(data.length, 20); ch.writeUInt32LE(data.length, 24); ch.writeUInt16LE(name.length, 28); ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, data);
    centrals.push(ch, name);
    offset += 30 + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
step();
`;

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    stdio: 'pipe',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Sample',
      GIT_AUTHOR_EMAIL: 'sample@example.com',
      GIT_COMMITTER_NAME: 'Sample',
      GIT_COMMITTER_EMAIL: 'sample@example.com',
    },
  });

/** The sample app in `dir`, created when missing; undefined when it cannot be (no git). */
export function ensureSampleApp(dir: string, say: (msg: string) => void): string | undefined {
  if (fs.existsSync(path.join(dir, '.git'))) return dir;
  try {
    createSampleApp(dir);
    say(`created a sample app repository for publishing builds in ${dir}`);
    return dir;
  } catch (e) {
    say(`could not create the sample app (${(e as Error).message.split('\n')[0]}); publishing builds need BUILD_SOURCE_ROOTS or a git URL`);
    return undefined;
  }
}

/** Creates (or re-creates) the sample app repository in `dir`; returns `dir`. */
export function createSampleApp(dir: string, options: SampleAppOptions = {}): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const write = (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);
  const config = (mode: string, lines: number, stepMs: number) =>
    write('build-config.json', `${JSON.stringify({ mode, lines, stepMs })}\n`);
  write(
    'package.json',
    `${JSON.stringify({ name: 'sample-app', private: true, scripts: { 'build:ios': 'node build.js ios', 'build:android': 'node build.js android' } }, null, 2)}\n`,
  );
  write('build.js', BUILD_SCRIPT);
  write('.gitignore', 'dist/\n');
  config('ok', options.lines ?? 3, options.stepMs ?? 100);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'Sample app');
  const branch = (name: string, mode: string, lines: number, stepMs: number) => {
    git(dir, 'checkout', '-q', '-b', name, 'main');
    config(mode, lines, stepMs);
    git(dir, 'commit', '-q', '-am', `${name} build`);
  };
  branch('slow', 'ok', options.slow?.lines ?? 40, options.slow?.stepMs ?? 250);
  branch('fail', 'fail', 2, 50);
  branch('hang', 'hang', 0, 0);
  branch('none', 'none', 1, 10);
  git(dir, 'checkout', '-q', 'main');
  return dir;
}
