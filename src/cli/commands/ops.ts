import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import ms from 'ms';
import { jobPath } from '../api-client';
import { CliContext, printJson } from '../context';
import { EXIT, ExitCode } from '../exit-codes';
import { intOption, readJsonFile } from '../parse';
import { table } from '../table';
import { addWaitOptions, watchAndReport } from './watch';

// logs, failures and replay: a build's log, the dead-letter view and replays (admin).

/** One failed job as GET /api/admin/failures lists it; read loosely so either naming of a field shows. */
type FailureRow = Record<string, unknown>;

const pick = (row: FailureRow, ...names: string[]) => {
  for (const n of names) if (row[n] !== undefined && row[n] !== null) return String(row[n]);
  return '';
};

/** `24h` (that long ago) or an ISO time. */
function timeOption(value: string): string {
  const ago = ms(value as ms.StringValue);
  if (typeof ago === 'number' && Number.isFinite(ago) && ago > 0) return new Date(Date.now() - ago).toISOString();
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError('expected a time (2026-01-31T12:00:00Z) or how long ago (24h, 7d)');
  return new Date(t).toISOString();
}

/** Writes a log body to stdout: Server-Sent Events as their data lines, anything else as it comes. */
async function pipeLog(ctx: CliContext, contentType: string, body: AsyncIterable<Buffer | string>): Promise<void> {
  if (!contentType.includes('text/event-stream')) {
    for await (const chunk of body) ctx.stdout.write(chunk);
    return;
  }
  let pending = '';
  let event = 'message';
  for await (const chunk of body) {
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, '');
      pending = pending.slice(nl + 1);
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:') && event === 'message') ctx.stdout.write(`${line.slice(5).replace(/^ /, '')}\n`);
      else if (line === '') event = 'message';
    }
  }
}

export function registerOpsCommands(program: Command, context: () => CliContext, done: (code: ExitCode) => void): void {
  program
    .command('logs')
    .description("a build job's log; -f follows it while the build runs")
    .argument('<jobId>', 'the job id')
    .option('-f, --follow', 'keep printing new lines until the build step ends')
    .action(async (jobId: string, o: { follow?: boolean }) => {
      const ctx = context();
      const { contentType, body } = await ctx.api.stream(
        jobPath(jobId, `/logs${o.follow ? '?follow=1' : ''}`),
        'text/plain, text/event-stream',
        !!o.follow,
      );
      await pipeLog(ctx, contentType, body);
      done(EXIT.ok);
    });

  program
    .command('failures')
    .description('admin: jobs that ended without success (failed, terminated, timed out), newest first')
    .option('--type <type>', 'only this job type')
    .option('--owner <owner>', "only this owner's jobs")
    .option('--class <class>', 'only this failure class (an ApplicationFailure type, terminated, timed_out)')
    .option('--since <time>', 'failed after: an ISO time or how long ago (24h, 7d)', timeOption)
    .option('--until <time>', 'failed before: an ISO time or how long ago', timeOption)
    .option('--page-size <n>', 'rows per page (1-200)', intOption(1, 200))
    .option('--page-token <token>', 'the next page, as printed under the previous one')
    .action(
      async (o: {
        type?: string;
        owner?: string;
        class?: string;
        since?: string;
        until?: string;
        pageSize?: number;
        pageToken?: string;
      }) => {
        const ctx = context();
        const q = new URLSearchParams(
          Object.entries({
            type: o.type,
            owner: o.owner,
            class: o.class,
            since: o.since,
            until: o.until,
            pageSize: o.pageSize?.toString(),
            pageToken: o.pageToken,
          }).filter((e): e is [string, string] => e[1] !== undefined),
        );
        const page = await ctx.api.json<{ failures?: FailureRow[]; nextPageToken?: string }>(
          'GET',
          `/api/admin/failures${q.size ? `?${q}` : ''}`,
        );
        if (ctx.json) printJson(ctx, page);
        else {
          const rows = page.failures ?? [];
          if (!rows.length) ctx.stderr.write('no failed jobs\n');
          else {
            const body = rows.map((r) => [
              pick(r, 'jobId'),
              pick(r, 'type'),
              pick(r, 'owner'),
              pick(r, 'failureClass', 'class'),
              pick(r, 'failedAt', 'closedAt'),
              pick(r, 'error', 'lastError', 'message'),
            ]);
            ctx.stdout.write(`${table(['JOB ID', 'TYPE', 'OWNER', 'CLASS', 'FAILED', 'ERROR'], body)}\n`);
          }
          if (page.nextPageToken) ctx.stderr.write(`more: durable-jobs failures --page-token ${page.nextPageToken}\n`);
        }
        done(EXIT.ok);
      },
    );

  addWaitOptions(
    program
      .command('replay')
      .description('admin: start a new job with the input of a failed one, or with an edited input')
      .argument('<jobId>', 'the failed job')
      .option('--input <file>', "a JSON file with the edited input (checked against the job type's schema)")
      .option('--wait', 'watch the new job until it ends and exit with its outcome'),
  ).action(async (jobId: string, o: { input?: string; wait?: boolean; interval: number; timeout?: number }) => {
    const ctx = context();
    const body = o.input ? { input: await readJsonFile(o.input) } : {};
    const answer = await ctx.api.json<{ jobId: string; replayOf?: string }>('POST', `/api/admin/jobs/${encodeURIComponent(jobId)}/replay`, {
      body,
    });
    if (o.wait) return done(await watchAndReport(ctx, answer.jobId, { intervalMs: o.interval, timeoutMs: o.timeout }));
    if (ctx.json) printJson(ctx, answer);
    else {
      ctx.stdout.write(`${answer.jobId}\n`);
      ctx.stderr.write(`replay of ${answer.replayOf ?? jobId} started: durable-jobs watch ${answer.jobId}\n`);
    }
    done(EXIT.ok);
  });
}
