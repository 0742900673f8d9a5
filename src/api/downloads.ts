import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import { jobFileKey } from '../shared/urls';
import { attachmentDisposition } from '../storage/content-types';
import { ByteRange, InvalidBlobKeyError } from '../storage/blob-store';
import { principalOf } from './auth';
import type { ApiContext } from './context';
import { HttpError, notFound } from './errors';
import { findJobOrRecord } from './jobs/job-lookup';

/**
 * `GET /api/v1/jobs/:jobId/files/*path`: a file the job stored under jobs/<jobId>/…, to its owner
 * only. Streams it (one byte range when asked), or with S3_PRESIGN_DOWNLOADS answers 302 to a
 * short-lived presigned URL so the bytes bypass the API.
 */
export async function sendJobFile(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  // Ownership first: another owner's job is "not found" before any storage lookup. A job past
  // Temporal's retention is found by its job record.
  const found = await findJobOrRecord(ctx, String(req.params.jobId), principalOf(res));
  const job = 'record' in found ? found.record : found;
  const filePath = (req.params as unknown as { path: string[] }).path.join('/');
  const key = jobFileKey(job.jobId, filePath);
  const info = await ctx.store.stat(key).catch((e: unknown) => {
    if (e instanceof InvalidBlobKeyError) return null;
    throw e;
  });
  if (!info) throw notFound('file');
  const filename = filePath.split('/').pop()!;
  const contentType = info.contentType ?? 'application/octet-stream';

  if (ctx.config.S3_PRESIGN_DOWNLOADS && ctx.store.presignGet) {
    const url = await ctx.store.presignGet(key, {
      expiresInSeconds: Math.ceil(ctx.config.S3_PRESIGN_EXPIRY / 1000),
      filename,
      contentType,
    });
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(302, url);
    return;
  }

  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Disposition', attachmentDisposition(filename));
  res.setHeader('Accept-Ranges', 'bytes');
  if (info.modifiedAt) res.setHeader('Last-Modified', info.modifiedAt.toUTCString());
  const range = requestedRange(req.get('range'), info.bytes, req.get('if-range'), info.modifiedAt);
  if (range === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${info.bytes}`);
    throw new HttpError(416, 'range_not_satisfiable', `Range: the file has ${info.bytes} bytes`);
  }
  if (range) {
    res.status(206);
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${info.bytes}`);
    res.setHeader('Content-Length', String(range.end - range.start + 1));
  } else {
    res.setHeader('Content-Length', String(info.bytes));
  }
  if (req.method === 'HEAD' || info.bytes === 0) {
    res.end();
    return;
  }
  const body = await ctx.store.get(key, range ?? undefined);
  // pipeline, not pipe: a client that goes away destroys the source too, closing the file or S3 response at once.
  await pipeline(body, res).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ERR_STREAM_PREMATURE_CLOSE' || res.destroyed) return;
    throw e;
  });
}

/**
 * The single byte range a `Range` header asks for (RFC 9110 §14.2), or null to send everything:
 * no header, a stale `If-Range`, several ranges (not worth multipart/byteranges here) or one we do not parse.
 */
function requestedRange(
  header: string | undefined,
  size: number,
  ifRange: string | undefined,
  modifiedAt: Date | undefined,
): (Required<ByteRange> | null) | 'unsatisfiable' {
  if (!header) return null;
  // If-Range carries the Last-Modified the client saw (we send no ETags): any other value means the file changed.
  if (ifRange && (!modifiedAt || Date.parse(ifRange) !== Math.floor(modifiedAt.getTime() / 1000) * 1000)) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (!m[1] && !m[2])) return null;
  if (!m[1]) {
    // "bytes=-N": the last N bytes.
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (start >= size) return 'unsatisfiable';
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  if (end < start) return null;
  return { start, end };
}
