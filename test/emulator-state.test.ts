import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProviderEmulator, startProviderEmulator } from '../src/emulator/server';
import { StoreState } from '../src/emulator/stores/state';

// The emulators with a state file, as `npm start` runs them: a restarted emulator answers for what
// was created before (generations; uploads, builds, reviews, Play tracks), and what was under way
// finishes on its original schedule.

let dir: string;
let stateFile: string;
const open: ProviderEmulator[] = [];

async function emulator(generationMs = 1_500): Promise<ProviderEmulator> {
  const e = await startProviderEmulator({ stateFile, generationMs });
  open.push(e);
  return e;
}

async function call(e: ProviderEmulator, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${e.openaiBaseUrl}${route}`, {
    method,
    headers: { Authorization: 'Bearer sk-emulator', ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  return {
    status: res.status,
    json: res.headers.get('content-type')?.includes('json') ? ((await res.json()) as Record<string, unknown>) : undefined,
    res,
  };
}

/** The same create each time, under one Idempotency-Key. */
const createLighthouse = (e: ProviderEmulator) =>
  call(e, 'POST', '/videos', { model: 'sora-2', prompt: 'a lighthouse at dawn', seconds: '4' }, { 'Idempotency-Key': 'job-1' });

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dj-emulator-state-'));
  stateFile = path.join(dir, 'emulator', 'video-generations.json');
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a generation created before a restart is answered after it, finishes on time and downloads', async () => {
  const first = await emulator();
  const created = await createLighthouse(first);
  expect(created.status).toBe(200);
  const id = created.json!.id as string;
  const gone = await call(first, 'POST', '/videos', { model: 'sora-2', prompt: 'a harbour', seconds: '4' });
  expect((await call(first, 'DELETE', `/videos/${gone.json!.id as string}`)).status).toBe(200);
  const createdAt = Date.now();
  await first.close();

  const second = await emulator();
  const running = await call(second, 'GET', `/videos/${id}`);
  expect(running.status).toBe(200);
  expect(['queued', 'in_progress']).toContain(running.json!.status);
  expect((await call(second, 'GET', `/videos/${gone.json!.id as string}`)).status).toBe(404); // deleted stays deleted
  // The same Idempotency-Key still answers with the same generation.
  const again = await createLighthouse(second);
  expect(again.json!.id).toBe(id);

  let status = running.json!.status;
  while (status !== 'completed' && Date.now() - createdAt < 5_000) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await call(second, 'GET', `/videos/${id}`)).json!.status;
  }
  expect(status).toBe('completed');
  expect(Date.now() - createdAt).toBeLessThan(3_000); // from its creation, not from the restart plus a full run
  const content = await call(second, 'GET', `/videos/${id}/content`);
  expect(content.status).toBe(200);
  expect(
    Buffer.from(await content.res.arrayBuffer())
      .subarray(4, 8)
      .toString('latin1'),
  ).toBe('ftyp');
  expect(second.stats().creations.total).toBe(2);
});

test('a completed generation is still downloadable after a restart, with the same bytes', async () => {
  const first = await emulator(100);
  const id = (await call(first, 'POST', '/videos', { model: 'sora-2', prompt: 'tides', seconds: '4' })).json!.id as string;
  await new Promise((r) => setTimeout(r, 300));
  const before = Buffer.from(await (await call(first, 'GET', `/videos/${id}/content`)).res.arrayBuffer());
  await first.close();
  const second = await emulator(100);
  const after = Buffer.from(await (await call(second, 'GET', `/videos/${id}/content`)).res.arrayBuffer());
  expect(after.length).toBeGreaterThan(0);
  expect(after.equals(before)).toBe(true);
});

test('an unreadable state file is set aside and the emulator starts empty', async () => {
  fs.mkdirSync(path.dirname(stateFile), { recursive: true });
  fs.writeFileSync(stateFile, '{"generations": [');
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    const e = await emulator();
    expect((await call(e, 'GET', '/videos')).json!.data).toEqual([]);
    expect(fs.readFileSync(`${stateFile}.unreadable`, 'utf8')).toBe('{"generations": [');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('unreadable state file'));
  } finally {
    warn.mockRestore();
  }
});

describe('store emulator state', () => {
  const timings = { processingMs: 400, reviewMs: 600 };
  const states: StoreState[] = [];
  const storeState = () => {
    const s = new StoreState(timings, stateFile);
    states.push(s);
    return s;
  };
  afterEach(() => states.splice(0).forEach((s) => s.close()));
  const until = async (what: () => boolean, ms = 3_000) => {
    const deadline = Date.now() + ms;
    while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return what();
  };

  test('uploads, their parts, builds under processing, reviews and Play tracks outlive a restart, and timers resume', async () => {
    const first = storeState();
    const upload = {
      id: 'bu-1',
      appId: 'app',
      version: '1.0.0',
      buildNumber: '7',
      platform: 'IOS',
      createdAt: Date.now(),
      state: 'AWAITING_UPLOAD' as const,
      errors: [],
    };
    first.uploads.set(upload.id, upload);
    first.files.set('f-1', {
      id: 'f-1',
      uploadId: 'bu-1',
      fileName: 'App.ipa',
      fileSize: 3,
      uti: 'com.apple.ipa',
      partSize: 2,
      parts: new Map([[1, Buffer.from([0, 255])]]),
      state: 'AWAITING_UPLOAD',
    });
    first.startProcessing(upload, undefined);
    const item = { id: 'item-1', versionId: 'v-1', state: 'READY_FOR_REVIEW' as const };
    const submission = { id: 'sub-1', appId: 'app', platform: 'IOS', state: 'READY_FOR_REVIEW' as const, items: [item] };
    first.submissions.set(submission.id, submission);
    first.reviewItems.set(item.id, { submissionId: submission.id, item });
    first.startReview(submission);
    first.playTracks.set('com.example', new Map([['internal', [{ versionCodes: ['7'], status: 'completed' }]]]));
    first.playVersionCodes.set('com.example', new Set([7]));
    first.changed();
    first.close(); // writes what is pending

    const second = storeState();
    expect(second.files.get('f-1')!.parts.get(1)).toEqual(Buffer.from([0, 255]));
    expect(second.playTracks.get('com.example')!.get('internal')).toEqual([{ versionCodes: ['7'], status: 'completed' }]);
    expect(second.playVersionCodes.get('com.example')!.has(7)).toBe(true);
    // The review item is the submission's own item, as before the restart.
    expect(second.reviewItems.get('item-1')!.item).toBe(second.submissions.get('sub-1')!.items[0]);

    expect(await until(() => [...second.builds.values()].some((b) => b.processingState === 'VALID'))).toBe(true);
    expect(second.uploads.get('bu-1')!.state).toBe('COMPLETE');
    expect(await until(() => second.submissions.get('sub-1')!.state === 'COMPLETE')).toBe(true);
    expect(second.submissions.get('sub-1')!.items[0].state).toBe('APPROVED');
  });

  test('an unreadable state file is set aside and the store starts empty', () => {
    fs.mkdirSync(path.dirname(stateFile), { recursive: true });
    fs.writeFileSync(stateFile, 'not json');
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect(storeState().uploads.size).toBe(0);
      expect(fs.existsSync(`${stateFile}.unreadable`)).toBe(true);
    } finally {
      warn.mockRestore();
    }
  });
});
