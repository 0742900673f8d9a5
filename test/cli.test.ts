import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../src/config/env';
import { cliShellCommand, runCli, tempFile, Tmux } from './fixtures/cli';
import { startTestSite, TestSite } from './fixtures/test-site';
import { testApp } from './harness/api';
import { KEYS, RunningWorkers, startWorkers, testClient, testConfig, waitFor } from './harness/temporal';

// The `durable-jobs` CLI as a user runs it: the real bin in a child process against the real
// API over HTTP, real workers on the dev server, a real local website; `watch` in a real
// pseudo-terminal under tmux, read from the pane.

let client: Client;
let site: TestSite;
let config: AppConfig;
let workers: RunningWorkers;
let api: Server;
let env: Record<string, string>;
let adminEnv: Record<string, string>;

beforeAll(async () => {
  client = await testClient();
  site = await startTestSite({ slowMs: 60_000 });
  config = testConfig({ CONVERSION_URL_ATTEMPTS: '1' });
  workers = await startWorkers(config);
  api = testApp(config, client).listen(0, '127.0.0.1');
  await new Promise((r) => api.once('listening', r));
  const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  env = { DURABLE_JOBS_URL: url, DURABLE_JOBS_API_KEY: KEYS.alice };
  adminEnv = { DURABLE_JOBS_URL: url, DURABLE_JOBS_API_KEY: KEYS.admin };
});
afterAll(async () => {
  await new Promise((r) => api?.close(r));
  await workers?.shutdown();
  await site?.close();
  await client?.connection.close();
});

const urlFile = (paths: string[]) => tempFile('urls.txt', `# a comment line\n${paths.map((p) => site.url(p)).join('\n')}\n\n`);

describe('submit, status, list, retry', () => {
  let partialJob: string;

  test('submit bulk --wait watches to the end and exits 5 when some URLs failed', async () => {
    const r = await runCli(
      [
        'submit',
        'bulk',
        '--urls-file',
        urlFile(['/good/1', '/good/2', '/page/3', '/404']),
        '--format',
        'markdown',
        '--wait',
        '--interval',
        '300ms',
      ],
      env,
    );
    expect(r.stderr).toMatch(/^started bulk-conversion-/m);
    partialJob = /^(bulk-conversion-[\w-]+)/m.exec(r.stdout)![1];
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(/completed_with_errors after [\d.]+ s/);
    expect(r.stdout).toMatch(/succeeded: 3/);
    expect(r.stdout).toMatch(/failed: 1/);
    expect(r.stdout).toContain(`resultsUrl: ${config.publicUrl}/api/v1/jobs/${partialJob}/files/results.jsonl`);
  });

  test('submit --json prints the accepted job; watch exits 0 once it completed; status and list show it', async () => {
    const submitted = await runCli(['--json', 'submit', 'bulk', '--urls-file', '-', '--concurrency', '2'], env, {
      stdin: `${site.url('/good/3')}\n${site.url('/good/4')}\n`,
    });
    expect(submitted.code).toBe(0);
    const accepted = JSON.parse(submitted.stdout) as { jobId: string; status: string; statusUrl: string };
    expect(accepted.status).toBe('running');

    const watched = await runCli(['watch', accepted.jobId, '--json', '--interval', '300ms'], env);
    expect(watched.code).toBe(0);
    const final = JSON.parse(watched.stdout) as { status: string; result: { succeeded: number } };
    expect(final.status).toBe('completed');
    expect(final.result.succeeded).toBe(2);

    const status = await runCli(['status', accepted.jobId], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`${accepted.jobId}  bulk-conversion  completed`);
    expect(status.stdout).toMatch(/temporal: http:\/\/localhost:8233\/namespaces\/default\/workflows\//);

    const listed = await waitFor(async () => {
      const r = await runCli(['list', '--type', 'bulk-conversion', '--json'], env);
      const jobs = (JSON.parse(r.stdout) as { jobs: { jobId: string; status: string }[] }).jobs;
      return jobs.some((j) => j.jobId === accepted.jobId && j.status === 'completed') && r;
    }, 'the job in the list');
    expect(listed.code).toBe(0);
    const table = await runCli(['list', '--status', 'completed'], env);
    expect(table.stdout).toMatch(/^JOB ID\s+TYPE\s+STATUS\s+STARTED\s+CLOSED$/m);
    expect(table.stdout).toContain(accepted.jobId);
  });

  test('retry of a job with failed URLs starts a new job over them', async () => {
    const r = await runCli(['retry', partialJob, '--wait', '--interval', '300ms'], env);
    // The page still answers 404, so the retry job fails (every one of its URLs failed).
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/failed after/);
    expect(r.stdout).toMatch(/total: 1/);
  });
});

describe('cancel', () => {
  test('cancel stops a running job; watch then exits 4; cancelling again is rejected with exit 8', async () => {
    const submitted = await runCli(
      ['submit', 'bulk', '--urls-file', urlFile(['/slow', '/slow?b']), '--idempotency-key', `cancel-${Date.now()}`],
      env,
    );
    expect(submitted.code).toBe(0);
    const jobId = submitted.stdout.trim();
    expect(submitted.stderr).toMatch(new RegExp(`started: durable-jobs watch ${jobId}`));
    const cancelled = await runCli(['cancel', jobId], env);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toBe(`${jobId} cancelling\n`);
    const watched = await runCli(['watch', jobId, '--interval', '300ms'], env);
    expect(watched.code).toBe(4);
    expect(watched.stdout).toMatch(/cancelled/);
    const again = await runCli(['cancel', jobId], env);
    expect(again.code).toBe(8);
    expect(again.stderr).toMatch(/409 job is not running/);
  });
});

describe('errors say what happened, and the exit status says which', () => {
  test('unknown job: 6', async () => {
    const r = await runCli(['status', 'bulk-conversion-nope'], env);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^durable-jobs: GET \/api\/v1\/jobs\/bulk-conversion-nope: 404 /m);
  });

  test('wrong key: 7, no key: 7 with a hint; a user key on an admin command: 7', async () => {
    const wrong = await runCli(['list'], { ...env, DURABLE_JOBS_API_KEY: 'not-a-key-0123456789' });
    expect(wrong.code).toBe(7);
    expect(wrong.stderr).toMatch(/401 unknown API key/);
    const none = await runCli(['list', '--url', env.DURABLE_JOBS_URL], {});
    expect(none.code).toBe(7);
    expect(none.stderr).toMatch(/set DURABLE_JOBS_API_KEY or pass --api-key/);
    const user = await runCli(['failures'], env);
    expect(user.code).toBe(7);
    expect(user.stderr).toMatch(/403 this route needs an admin API key/);
  });

  test('flags win over the environment; an API nobody answers: 9', async () => {
    const r = await runCli(['list', '--url', 'http://127.0.0.1:1'], env);
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/cannot reach the API at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    // Bob's key, given as a flag, overrides alice's from the environment: none of alice's jobs is listed.
    const ok = await runCli(['list', '--api-key', KEYS.bob, '--json'], { DURABLE_JOBS_URL: env.DURABLE_JOBS_URL });
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout).jobs as { owner: string }[]).filter((j) => j.owner !== 'bob')).toEqual([]);
  });

  test('bad arguments: 2, before anything is sent', async () => {
    const missing = await runCli(['submit', 'bulk'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option '--urls-file <file>' not specified/);
    const empty = await runCli(['submit', 'bulk', '--urls-file', tempFile('e.txt', '# nothing\n\n')], env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/no URLs/);
    const absent = await runCli(['submit', 'bulk', '--urls-file', '/no/such/file.txt'], env);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toMatch(/cannot read \/no\/such\/file\.txt: ENOENT/);
    const concurrency = await runCli(['submit', 'bulk', '--urls-file', urlFile(['/good/1']), '--concurrency', '0'], env);
    expect(concurrency.code).toBe(2);
    expect(concurrency.stderr).toMatch(/expected a whole number from 1 to 200/);
    const unknown = await runCli(['frobnicate'], env);
    expect(unknown.code).toBe(2);
  });

  test('input the API refuses: 8 with its field messages; --json prints the error body', async () => {
    const r = await runCli(['submit', 'bulk', '--urls-file', tempFile('bad.txt', 'not a url\nftp://x.example/\n')], env);
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(/400 urls\.0: is not a valid URL; urls\.1: must be an http or https URL/);
    const video = await runCli(['--json', 'submit', 'video', '--prompt', 'a cat', '--provider', 'veo', '--size', '1280x720'], env);
    expect(video.code).toBe(8);
    const body = JSON.parse(video.stdout) as { exitCode: number; response: { error: { fields: { field: string }[] } } };
    expect(body.exitCode).toBe(8);
    expect(body.response.error.fields.map((f) => f.field)).toContain('size');
  });
});

// These call routes other parts of the platform add (the dead-letter view, replay, build logs,
// publishing builds). Until an API offers them, the CLI must say so clearly and exit 6.
describe('commands over routes this API may not offer yet', () => {
  test('failures, replay, logs and submit build: a clear 404 and exit 6', async () => {
    const failures = await runCli(['failures', '--since', '24h', '--type', 'bulk-conversion'], adminEnv);
    expect([0, 6]).toContain(failures.code);
    if (failures.code === 6) expect(failures.stderr).toMatch(/GET \/api\/admin\/failures\?.*404 .*this API does not offer that yet/);

    const replay = await runCli(['replay', 'bulk-conversion-nope'], adminEnv);
    expect(replay.code).toBe(6);
    expect(replay.stderr).toMatch(/POST \/api\/admin\/jobs\/bulk-conversion-nope\/replay: 404/);

    const logs = await runCli(['logs', 'publishing-build-nope', '-f'], env);
    expect(logs.code).toBe(6);
    expect(logs.stderr).toMatch(/GET \/api\/v1\/jobs\/publishing-build-nope\/logs\?follow=1: 404/);

    const build = await runCli(
      ['submit', 'build', '--project', 'demo', '--platform', 'android', '--path', '/tmp', '--version', '1.4.0', '--build-number', '7'],
      env,
    );
    expect([6, 8]).toContain(build.code);
  });

  test('their arguments are checked locally first', async () => {
    const both = await runCli(
      [
        'submit',
        'build',
        '--project',
        'p',
        '--platform',
        'ios',
        '--git',
        'https://github.com/a/b',
        '--path',
        '/tmp',
        '--version',
        '1.0.0',
        '--build-number',
        '1',
      ],
      env,
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/exactly one of --git <url> or --path <dir>/);
    const since = await runCli(['failures', '--since', 'yesterday-ish'], adminEnv);
    expect(since.code).toBe(2);
    const input = await runCli(['replay', 'x', '--input', tempFile('in.json', '[1,2]')], adminEnv);
    expect(input.code).toBe(2);
    expect(input.stderr).toMatch(/must hold a JSON object/);
  });
});

describe('watch in a real terminal', () => {
  const tmux = new Tmux();
  afterAll(() => tmux.kill());

  test('a live progress bar that moves while the job runs, then the result summary and exit 0', async () => {
    // A chunk's first live report comes after 2 s: 15 rounds of 500 ms pages keep the job running past it.
    site.setLatencyMs(500);
    try {
      const paths = Array.from({ length: 30 }, (_, i) => `/page/${i + 100}`);
      const submitted = await runCli(['submit', 'bulk', '--urls-file', urlFile(paths), '--concurrency', '2'], env);
      expect(submitted.code).toBe(0);
      const jobId = submitted.stdout.trim();
      tmux.start('watch', cliShellCommand(['watch', jobId, '--interval', '250ms'], env));

      // A frame mid-job: the bar, a count below the total.
      const midFrame = await waitFor(
        () => {
          const pane = tmux.pane('watch');
          const m = /(\d+)\/30 \| (\d+) ok/.exec(pane);
          return m && Number(m[1]) > 0 && Number(m[1]) < 30 && pane;
        },
        'a progress frame mid-job',
        60_000,
        100,
      );
      expect(midFrame).toContain(`watching ${jobId}`);
      expect(midFrame).toMatch(/[█░]{30} +\d+%/);

      const finalFrame = await waitFor(() => /EXIT=\d+/.test(tmux.pane('watch')) && tmux.pane('watch'), 'watch to exit', 90_000, 200);
      expect(finalFrame).toMatch(/30\/30 \| 30 ok · 0 failed/);
      expect(finalFrame).toMatch(/100%/);
      expect(finalFrame).toContain(`${jobId}  bulk-conversion  completed after`);
      expect(finalFrame).toMatch(/succeeded: 30/);
      expect(finalFrame).toContain('EXIT=0');
    } finally {
      site.setLatencyMs(0);
    }
  });
});

describe('stopping a watch', () => {
  const tmux = new Tmux();
  afterAll(() => tmux.kill());

  test('Ctrl-C stops watching (exit 130) and leaves the job running', async () => {
    const submitted = await runCli(['submit', 'bulk', '--urls-file', urlFile(['/slow?ctrl-c'])], env);
    const jobId = submitted.stdout.trim();
    tmux.start('watch', cliShellCommand(['watch', jobId, '--interval', '250ms'], env));
    await waitFor(() => tmux.pane('watch').includes(`watching ${jobId}`), 'the watch to start', 60_000, 100);
    tmux.sendKeys('watch', 'C-c');
    const pane = await waitFor(() => /EXIT=\d+/.test(tmux.pane('watch')) && tmux.pane('watch'), 'watch to stop', 30_000, 100);
    expect(pane).toContain(`stopped watching ${jobId}; the job keeps running`);
    expect(pane).toContain('EXIT=130');
    const status = await runCli(['status', jobId, '--json'], env);
    expect(JSON.parse(status.stdout).status).toBe('running');
    await runCli(['cancel', jobId], env);
  });
});

// Build logs, the dead-letter view and replay are routes other parts of the platform add. Until
// they land here, a loopback server answering their documented shapes checks the CLI's side.
describe('against the documented shapes of logs, failures and replay', () => {
  let stub: Server;
  let stubEnv: Record<string, string>;
  const replayBodies: unknown[] = [];

  beforeAll(async () => {
    const http = await import('node:http');
    stub = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.pathname === '/api/v1/jobs/publishing-build-1/logs' && url.searchParams.get('follow') === '1') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: > build:android\n\n');
        setTimeout(() => res.write('data: compiling 50%\n\n'), 300);
        setTimeout(() => res.end('event: end\ndata: {"exitCode":0}\n\ndata: wrote dist/app.aab\n\n'), 600);
      } else if (url.pathname === '/api/v1/jobs/publishing-build-1/logs') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('line one\nline two\n');
      } else if (url.pathname === '/api/admin/failures') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            failures: [
              {
                jobId: 'video-generation-1',
                type: 'video-generation',
                owner: 'alice',
                failureClass: 'ProviderRejected',
                error: 'prompt refused by the provider',
                failedAt: '2026-01-02T03:04:05.000Z',
                query: url.search,
              },
              {
                jobId: 'bulk-conversion-2',
                type: 'bulk-conversion',
                owner: 'bob',
                failureClass: 'terminated',
                error: 'terminated by an operator',
                failedAt: '2026-01-02T04:00:00.000Z',
              },
            ],
            nextPageToken: 'abc',
          }),
        );
      } else if (req.method === 'POST' && url.pathname === '/api/admin/jobs/video-generation-1/replay') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c));
        req.on('end', () => {
          replayBodies.push(JSON.parse(body));
          res
            .writeHead(202, { 'content-type': 'application/json' })
            .end(JSON.stringify({ jobId: 'video-generation-9', replayOf: 'video-generation-1', status: 'running' }));
        });
      } else
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 'not_found', message: 'job not found' } }));
    });
    stub.listen(0, '127.0.0.1');
    await new Promise((r) => stub.once('listening', r));
    stubEnv = { DURABLE_JOBS_URL: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`, DURABLE_JOBS_API_KEY: KEYS.admin };
  });
  afterAll(async () => {
    stub.closeAllConnections();
    await new Promise((r) => stub.close(r));
  });

  test('logs prints the text; logs -f prints event-stream data lines as they come until the stream ends', async () => {
    const plain = await runCli(['logs', 'publishing-build-1'], stubEnv);
    expect(plain).toMatchObject({ code: 0, stdout: 'line one\nline two\n' });
    const followed = await runCli(['logs', 'publishing-build-1', '-f'], stubEnv);
    expect(followed).toMatchObject({ code: 0, stdout: '> build:android\ncompiling 50%\nwrote dist/app.aab\n' });
    const missing = await runCli(['logs', 'publishing-build-2'], stubEnv);
    expect(missing.code).toBe(6);
    expect(missing.stderr).toMatch(/404 job not found/);
  });

  test('failures: a table with class and error, filters sent as query parameters', async () => {
    const r = await runCli(
      ['failures', '--type', 'video-generation', '--class', 'ProviderRejected', '--since', '2026-01-01T00:00:00Z'],
      stubEnv,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^JOB ID\s+TYPE\s+OWNER\s+CLASS\s+FAILED\s+ERROR$/m);
    expect(r.stdout).toMatch(
      /^video-generation-1\s+video-generation\s+alice\s+ProviderRejected\s+2026-01-02T03:04:05.000Z\s+prompt refused by the provider$/m,
    );
    expect(r.stdout).toMatch(/^bulk-conversion-2\s+bulk-conversion\s+bob\s+terminated/m);
    expect(r.stderr).toContain('more: durable-jobs failures --page-token abc');
    const json = await runCli(
      ['failures', '--json', '--type', 'video-generation', '--class', 'ProviderRejected', '--since', '2026-01-01T00:00:00Z'],
      stubEnv,
    );
    expect(JSON.parse(json.stdout).failures[0].query).toBe(
      '?type=video-generation&class=ProviderRejected&since=2026-01-01T00%3A00%3A00.000Z',
    );
  });

  test('replay sends the edited input and prints the new job id', async () => {
    const same = await runCli(['replay', 'video-generation-1'], stubEnv);
    expect(same).toMatchObject({ code: 0, stdout: 'video-generation-9\n' });
    expect(same.stderr).toContain('replay of video-generation-1 started: durable-jobs watch video-generation-9');
    const edited = await runCli(
      ['replay', 'video-generation-1', '--input', tempFile('in.json', '{"prompt":"a calmer cat"}'), '--json'],
      stubEnv,
    );
    expect(JSON.parse(edited.stdout)).toEqual({ jobId: 'video-generation-9', replayOf: 'video-generation-1', status: 'running' });
    expect(replayBodies).toEqual([{}, { input: { prompt: 'a calmer cat' } }]);
  });
});

describe('submit video', () => {
  test('--wait prints progress lines off a terminal, then the result with its download link', async () => {
    const { startVideoStack } = await import('./fixtures/video-jobs');
    const stack = await startVideoStack(client, { generationMs: 2_000 });
    const server = stack.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const videoEnv = { DURABLE_JOBS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, DURABLE_JOBS_API_KEY: KEYS.alice };
      const r = await runCli(
        ['submit', 'video', '--prompt', 'a red fox in the snow', '--seconds', '4', '--wait', '--interval', '200ms'],
        videoEnv,
      );
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^video-generation-[\w-]+ running \d+% \((waiting_for_slot|starting|generating)/m);
      expect(r.stdout).toMatch(/video-generation {2}completed after/);
      expect(r.stdout).toMatch(/downloadUrl: http:\/\/\S+\/files\/videos\/video-generation-[\w-]+\.mp4/);
    } finally {
      await new Promise((r) => server.close(r));
      await stack.close();
    }
  });
});

describe('submit build', () => {
  test('--wait follows an android build to its upload, then prints the result; a source outside the allowed roots is 8', async () => {
    const { startPublishingStack } = await import('./fixtures/publishing-jobs');
    const stack = await startPublishingStack(client);
    const server = stack.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const buildEnv = { DURABLE_JOBS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, DURABLE_JOBS_API_KEY: KEYS.alice };
      const build = (source: string[], extra: string[] = []) =>
        runCli(
          [
            'submit',
            'build',
            '--project',
            'sample',
            '--platform',
            'android',
            ...source,
            '--version',
            '1.4.0',
            '--build-number',
            '42',
            ...extra,
          ],
          buildEnv,
        );
      const r = await build(['--git', `file://${stack.repo}`], ['--track', 'beta', '--wait', '--interval', '200ms']);
      expect(r.stderr).toMatch(/^started publishing-build-/m);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/publishing-build {2}completed after/);
      const jobId = /^started (publishing-build-[\w-]+)/m.exec(r.stderr)![1];
      const status = await runCli(['status', jobId, '--json'], buildEnv);
      expect(status.code).toBe(0);
      // The flags arrived as the API's fields: the build number and the track reached the store.
      expect(JSON.parse(status.stdout)).toMatchObject({
        jobId,
        type: 'publishing-build',
        status: 'completed',
        result: {
          projectId: 'sample',
          platform: 'android',
          version: '1.4.0',
          buildNumber: 42,
          store: { store: 'google-play', versionCode: 42, track: 'beta' },
        },
      });

      const outside = await build(['--path', '/etc']);
      expect(outside.code).toBe(8);
      expect(outside.stderr).toMatch(/source/);
    } finally {
      await new Promise((r) => server.close(r));
      await stack.close();
    }
  });
});
