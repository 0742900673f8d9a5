import type { Request, Response } from 'express';
import type { PublishingBuildConfig } from '../../activities/publishing-build/config';
import { jobFileKey } from '../../shared/urls';
import { BUILD_LOG_FILE, progressQuery } from '../../workflows/publishing-build/contract';
import type { ApiContext } from '../context';
import { notFound } from '../errors';
import type { JobView } from './job-types';

// GET /jobs/:id/logs: the build log from blob storage as plain text, or with ?follow=1 as a
// chunked stream that sends what the build prints (the worker rewrites the log every second)
// until the build step is over.

const POLL_MS = 500;
const BUILD_PHASES = ['preparing', 'building'];

export async function sendBuildLog(ctx: ApiContext, job: JobView, res: Response): Promise<void> {
  const key = jobFileKey(job.jobId, BUILD_LOG_FILE);
  const info = await ctx.store.stat(key).catch(() => null);
  if (!info) {
    if (job.executionStatus === 'RUNNING') return void res.type('text/plain; charset=utf-8').send('');
    throw notFound('build log');
  }
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', String(info.bytes));
  const stream = await ctx.store.get(key);
  stream.on('error', (e) => res.destroy(e));
  stream.pipe(res);
}

/** Whether the job's build step may still print: the job runs and its phase is a build phase. */
async function buildRunning(job: JobView): Promise<boolean> {
  try {
    const progress = await job.handle.query(progressQuery);
    return BUILD_PHASES.includes(progress.phase);
  } catch {
    return false; // closed, or no worker to answer: nothing more will be printed
  }
}

export async function followBuildLog(ctx: ApiContext<PublishingBuildConfig>, job: JobView, req: Request, res: Response): Promise<void> {
  const key = jobFileKey(job.jobId, BUILD_LOG_FILE);
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  let gone = false;
  req.once('close', () => (gone = true));
  // Three attempts of the longest build, plus time to clone and upload.
  const deadline = Date.now() + 3 * ctx.config.BUILD_TIMEOUT + 15 * 60_000;
  let sent = 0;
  const sendNew = async () => {
    const info = await ctx.store.stat(key).catch(() => null);
    if (!info || info.bytes <= sent) return;
    const text = await ctx.store.getBuffer(key);
    if (text.length > sent) res.write(text.subarray(sent));
    sent = text.length;
  };
  while (!gone && Date.now() < deadline) {
    const running = job.executionStatus === 'RUNNING' && (await buildRunning(job));
    await sendNew();
    if (!running) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  if (!gone) await sendNew();
  res.end();
}
