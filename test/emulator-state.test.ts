import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProviderEmulator, startProviderEmulator } from '../src/emulator/server';

// The video emulator with a state file, as `npm start` runs it: a restarted emulator answers for
// the generations created before, and those still running finish on their original schedule.

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
  const created = await call(
    first,
    'POST',
    '/videos',
    { model: 'sora-2', prompt: 'a lighthouse at dawn', seconds: '4' },
    { 'Idempotency-Key': 'job-1' },
  );
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
  const again = await call(
    second,
    'POST',
    '/videos',
    { model: 'sora-2', prompt: 'a lighthouse at dawn', seconds: '4' },
    { 'Idempotency-Key': 'job-1' },
  );
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
