import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { jobPath } from '../api-client';
import { CliContext, printJson } from '../context';
import { CliError, EXIT, exitCodeForStatus, ExitCode } from '../exit-codes';
import { JobBody, jobSummary, progressView } from '../job-view';
import { durationOption } from '../parse';

export interface WatchOptions {
  intervalMs: number;
  /** Give up (exit 10) when the job is still running after this long. */
  timeoutMs?: number;
}

/** Shows a job's progress as it runs: a live bar on a terminal, a line per change otherwise. */
class ProgressDisplay {
  private bar?: cliProgress.SingleBar;
  private lastLine = '';

  constructor(
    private readonly ctx: CliContext,
    private readonly jobId: string,
  ) {}

  update(job: JobBody): void {
    if (this.ctx.json) return;
    const view = progressView(job);
    if (this.ctx.stderr.isTTY) {
      if (!this.bar) {
        const format = view.unit === 'items' ? ' {bar} {percentage}% | {value}/{total} | {detail}' : ' {bar} {percentage}% | {detail}';
        this.bar = new cliProgress.SingleBar(
          { format, stream: this.ctx.stderr, hideCursor: true, clearOnComplete: false, barsize: 30 },
          cliProgress.Presets.shades_classic,
        );
        this.ctx.stderr.write(`watching ${this.jobId} (Ctrl-C stops watching; the job keeps running)\n`);
        this.bar.start(view.total || 1, view.value, { detail: view.detail });
      }
      this.bar.setTotal(view.total || 1);
      this.bar.update(view.value, { detail: view.detail });
      return;
    }
    const line =
      view.unit === 'items'
        ? `${this.jobId} ${job.status} ${view.value}/${view.total} (${view.detail})`
        : `${this.jobId} ${job.status} ${view.value}% (${view.detail})`;
    if (line !== this.lastLine) this.ctx.stderr.write(`${line}\n`);
    this.lastLine = line;
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/** Polls the job until it ends (or the timeout passes) and answers its last state. */
export async function watchJob(ctx: CliContext, jobId: string, o: WatchOptions): Promise<JobBody> {
  const display = new ProgressDisplay(ctx, jobId);
  const deadline = o.timeoutMs ? Date.now() + o.timeoutMs : Infinity;
  const interrupted = new AbortController();
  const onSigint = () => interrupted.abort();
  process.once('SIGINT', onSigint);
  let warned = false;
  try {
    for (;;) {
      let job: JobBody | undefined;
      try {
        job = await ctx.api.json<JobBody>('GET', jobPath(jobId));
        warned = false;
      } catch (e) {
        // The API restarting mid-watch is not the job failing: keep trying until the deadline.
        if (!(e instanceof CliError) || e.exitCode !== EXIT.unavailable) throw e;
        if (!warned) ctx.stderr.write(`\n${e.message}; retrying…\n`);
        warned = true;
      }
      if (job) {
        display.update(job);
        if (job.status !== 'running') return job;
        if (Date.now() >= deadline) return job;
      } else if (Date.now() >= deadline) {
        throw new CliError(`gave up waiting for ${jobId}: the API did not answer`, EXIT.unavailable);
      }
      try {
        await sleep(Math.min(o.intervalMs, Math.max(0, deadline - Date.now())), undefined, { signal: interrupted.signal });
      } catch {
        throw new CliError(`stopped watching ${jobId}; the job keeps running (durable-jobs status ${jobId})`, EXIT.interrupted);
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    display.stop();
  }
}

/** Watches, then prints the job's summary (or JSON) and answers the exit status its outcome means. */
export async function watchAndReport(ctx: CliContext, jobId: string, o: WatchOptions): Promise<ExitCode> {
  const job = await watchJob(ctx, jobId, o);
  if (ctx.json) printJson(ctx, job);
  else {
    ctx.stdout.write(`${jobSummary(job)}\n`);
    if (job.status === 'running') ctx.stderr.write(`still running after the timeout; the job keeps going (durable-jobs watch ${jobId})\n`);
  }
  return exitCodeForStatus(job.status);
}

export function addWaitOptions(cmd: Command): Command {
  return cmd
    .option('--interval <duration>', 'time between status polls (e.g. 500ms, 2s)', durationOption, 1000)
    .option('--timeout <duration>', 'stop waiting after this long (exit 10), e.g. 10m', durationOption);
}

export function registerWatch(program: Command, context: () => CliContext, done: (code: ExitCode) => void): void {
  addWaitOptions(
    program
      .command('watch')
      .description(
        'show a live progress bar until the job ends, then its result; exits with the outcome (0 completed, 3 failed, 4 cancelled, 5 completed with errors)',
      )
      .argument('<jobId>', 'the job id'),
  ).action(async (jobId: string, o: { interval: number; timeout?: number }) => {
    done(await watchAndReport(context(), jobId, { intervalMs: o.interval, timeoutMs: o.timeout }));
  });
}
