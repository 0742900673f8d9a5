import type { Command } from 'commander';
import { jobPath } from '../api-client';
import { CliContext, printJson } from '../context';
import { EXIT, ExitCode } from '../exit-codes';
import { JobBody, jobSummary } from '../job-view';
import { intOption } from '../parse';
import { table } from '../table';
import { addWaitOptions, watchAndReport } from './watch';

// status, list, cancel and retry: the common job routes.

interface JobList {
  jobs: { jobId: string; type?: string; owner?: string; status: string; startedAt?: string; closedAt?: string }[];
  nextPageToken?: string;
}

const when = (iso?: string) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

export function registerJobCommands(program: Command, context: () => CliContext, done: (code: ExitCode) => void): void {
  /** A command that sends one request about one job and prints the answer: JSON with --json, else `line(answer)`. */
  const oneJobCommand = <Answer>(name: string, description: string, request: ['GET' | 'POST', string], line: (answer: Answer) => string) =>
    program
      .command(name)
      .description(description)
      .argument('<jobId>', 'the job id')
      .action(async (jobId: string) => {
        const ctx = context();
        const answer = await ctx.api.json<Answer>(request[0], jobPath(jobId, request[1]));
        if (ctx.json) printJson(ctx, answer);
        else ctx.stdout.write(`${line(answer)}\n`);
        done(EXIT.ok);
      });

  oneJobCommand<JobBody>('status', "a job's status, progress and result", ['GET', ''], jobSummary);

  program
    .command('list')
    .description('your jobs, newest first (admins: --owner NAME or --owner "*")')
    .option('--type <type>', 'bulk-conversion, video-generation, publishing-build, …')
    .option('--status <status>', 'running, completed, completed_with_errors, failed, cancelled')
    .option('--owner <owner>', 'admins: another owner, or * for everyone')
    .option('--page-size <n>', 'jobs per page (1-200, default 50)', intOption(1, 200))
    .option('--page-token <token>', 'the next page, as printed under the previous one')
    .action(async (o: { type?: string; status?: string; owner?: string; pageSize?: number; pageToken?: string }) => {
      const ctx = context();
      const q = new URLSearchParams(
        Object.entries({ type: o.type, status: o.status, owner: o.owner, pageSize: o.pageSize?.toString(), pageToken: o.pageToken }).filter(
          (e): e is [string, string] => e[1] !== undefined,
        ),
      );
      const page = await ctx.api.json<JobList>('GET', `/api/v1/jobs${q.size ? `?${q}` : ''}`);
      if (ctx.json) printJson(ctx, page);
      else {
        if (!page.jobs.length) ctx.stderr.write('no jobs\n');
        else
          ctx.stdout.write(
            `${table(
              ['JOB ID', 'TYPE', 'STATUS', 'STARTED', 'CLOSED'],
              page.jobs.map((j) => [j.jobId, j.type ?? '', j.status, when(j.startedAt), when(j.closedAt)]),
            )}\n`,
          );
        if (page.nextPageToken) ctx.stderr.write(`more: durable-jobs list --page-token ${page.nextPageToken}\n`);
      }
      done(EXIT.ok);
    });

  oneJobCommand<{ jobId: string; status: string }>(
    'cancel',
    'cancel a running job (its cleanup still runs)',
    ['POST', '/cancel'],
    (answer) => `${answer.jobId} ${answer.status}`,
  );

  addWaitOptions(
    program
      .command('retry')
      .description("retry a job the way its type allows (e.g. a bulk job's failed URLs)")
      .argument('<jobId>', 'the job id')
      .option('--wait', 'watch the retried job until it ends and exit with its outcome'),
  ).action(async (jobId: string, o: { wait?: boolean; interval: number; timeout?: number }) => {
    const ctx = context();
    const answer = await ctx.api.json<{ jobId: string; status: string; retrying?: number }>('POST', jobPath(jobId, '/retry'));
    if (o.wait) return done(await watchAndReport(ctx, answer.jobId, { intervalMs: o.interval, timeoutMs: o.timeout }));
    if (ctx.json) printJson(ctx, answer);
    else if (answer.jobId === jobId)
      ctx.stdout.write(`${answer.jobId} ${answer.status}${answer.retrying !== undefined ? ` (${answer.retrying} items)` : ''}\n`);
    else {
      ctx.stdout.write(`${answer.jobId}\n`);
      ctx.stderr.write(`retry started as a new job: durable-jobs watch ${answer.jobId}\n`);
    }
    done(EXIT.ok);
  });
}
