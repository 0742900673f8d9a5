import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { printJson } from '../context';
import { CliError, EXIT, ExitCode } from '../exit-codes';
import { intOption, numberOption, readInputFile } from '../parse';
import { addWaitOptions, watchAndReport } from './watch';

/** A URL list file can hold 100,000 URLs of up to 2,048 characters. */
const MAX_URL_FILE_BYTES = 256 * 1024 * 1024;

interface Accepted {
  jobId: string;
  status: string;
  statusUrl?: string;
  temporalUiUrl?: string;
  existing?: boolean;
}

interface SubmitOptions {
  webhook?: string;
  idempotencyKey?: string;
  wait?: boolean;
  interval: number;
  timeout?: number;
}

/** One URL a line; blank lines and lines starting with # are skipped. */
export function parseUrlList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

async function submit(ctx: CliContext, route: string, body: Record<string, unknown>, o: SubmitOptions): Promise<ExitCode> {
  const headers = o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : undefined;
  const accepted = await ctx.api.json<Accepted>('POST', `/api/v1/jobs/${route}`, { body, headers });
  if (!o.wait) {
    if (ctx.json) printJson(ctx, accepted);
    else {
      ctx.stdout.write(`${accepted.jobId}\n`);
      ctx.stderr.write(
        `${accepted.existing ? 'already started (same Idempotency-Key)' : 'started'}: durable-jobs watch ${accepted.jobId}\n`,
      );
      if (accepted.temporalUiUrl) ctx.stderr.write(`temporal: ${accepted.temporalUiUrl}\n`);
    }
    return EXIT.ok;
  }
  if (!ctx.json) ctx.stderr.write(`started ${accepted.jobId}\n`);
  return watchAndReport(ctx, accepted.jobId, { intervalMs: o.interval, timeoutMs: o.timeout });
}

const withCommon = (cmd: Command) =>
  addWaitOptions(
    cmd
      .option('--webhook <url>', 'receives a signed event when the job ends')
      .option('--idempotency-key <key>', 'the same key returns the same job instead of starting a second one')
      .option('--wait', 'watch the job until it ends and exit with its outcome'),
  );

export function registerSubmit(program: Command, context: () => CliContext, done: (code: ExitCode) => void): void {
  const submitCmd = program.command('submit').description('start a job: bulk, video or build');

  withCommon(
    submitCmd
      .command('bulk')
      .description('convert a list of URLs (one per line; # comments) to H5P packages or Markdown')
      .requiredOption('--urls-file <file>', 'file with one URL per line, or - for stdin')
      .option('--format <format>', 'h5p or markdown (default h5p)')
      .option('--concurrency <n>', 'URLs in flight at once (1-200, default 20)', intOption(1, 200)),
  ).action(async (o: SubmitOptions & { urlsFile: string; format?: string; concurrency?: number }) => {
    const urls = parseUrlList(await readInputFile(o.urlsFile, MAX_URL_FILE_BYTES));
    if (!urls.length) throw new CliError(`${o.urlsFile}: no URLs (one per line; lines starting with # are skipped)`, EXIT.usage);
    const body = {
      urls,
      ...(o.format ? { format: o.format } : {}),
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.webhook ? { webhookUrl: o.webhook } : {}),
    };
    done(await submit(context(), 'bulk-conversions', body, o));
  });

  withCommon(
    submitCmd
      .command('video')
      .description('generate a video with sora, veo or the bundled emulator')
      .requiredOption('--prompt <text>', 'what the video shows')
      .option('--provider <name>', 'sora, veo or emulator (default emulator)')
      .option('--model <model>', 'provider model, e.g. sora-2, veo-3.1-generate-preview')
      .option('--seconds <n>', 'clip length', intOption(1, 60))
      .option('--size <WxH>', 'sora/emulator: e.g. 1280x720')
      .option('--aspect-ratio <ratio>', 'veo: 16:9 or 9:16')
      .option('--resolution <res>', 'veo: 720p, 1080p, 4k'),
  ).action(
    async (
      o: SubmitOptions & {
        prompt: string;
        provider?: string;
        model?: string;
        seconds?: number;
        size?: string;
        aspectRatio?: string;
        resolution?: string;
      },
    ) => {
      const body = Object.fromEntries(
        Object.entries({
          prompt: o.prompt,
          provider: o.provider,
          model: o.model,
          seconds: o.seconds,
          size: o.size,
          aspectRatio: o.aspectRatio,
          resolution: o.resolution,
          webhookUrl: o.webhook,
        }).filter(([, v]) => v !== undefined),
      );
      done(await submit(context(), 'video-generations', body, o));
    },
  );

  withCommon(
    submitCmd
      .command('build')
      .description('build an app from git or a local path and submit it to the App Store or Google Play')
      .requiredOption('--project <id>', 'project id')
      .addOption(new Option('--platform <platform>', 'ios or android').choices(['ios', 'android']).makeOptionMandatory())
      .option('--git <url>', 'https or file URL of the repository')
      .option('--ref <ref>', 'branch or tag to build (with --git)')
      .option('--path <dir>', 'local source directory (instead of --git)')
      .requiredOption('--version <semver>', 'version name, e.g. 1.4.0')
      .requiredOption('--build-number <n>', 'build number / version code', intOption(1, 2_147_483_647))
      .option('--track <track>', 'android: internal (default), alpha, beta, production')
      .option('--rollout <fraction>', 'android: staged rollout fraction in (0, 1]', numberOption)
      .option('--no-submit-for-review', 'upload only; do not submit for review'),
  ).action(
    async (
      o: SubmitOptions & {
        project: string;
        platform: string;
        git?: string;
        ref?: string;
        path?: string;
        version: string;
        buildNumber: number;
        track?: string;
        rollout?: number;
        submitForReview: boolean;
      },
    ) => {
      if (!!o.git === !!o.path) throw new CliError('give the source as exactly one of --git <url> or --path <dir>', EXIT.usage);
      if (o.ref && !o.git) throw new CliError('--ref goes with --git', EXIT.usage);
      const body = {
        projectId: o.project,
        platform: o.platform,
        source: o.git ? { git: o.git, ...(o.ref ? { ref: o.ref } : {}) } : { path: o.path },
        version: o.version,
        buildNumber: o.buildNumber,
        ...(o.track ? { track: o.track } : {}),
        ...(o.rollout !== undefined ? { rollout: o.rollout } : {}),
        submitForReview: o.submitForReview,
        ...(o.webhook ? { webhookUrl: o.webhook } : {}),
      };
      done(await submit(context(), 'publishing-builds', body, o));
    },
  );
}
