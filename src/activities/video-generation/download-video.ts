import { Transform } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { dropBody } from '../../net/http-client';
import { videoFilePath } from '../../workflows/video-generation/contract';
import { jobFileKey, jobFileUrl } from '../../shared/urls';
import type { ActivityDeps } from '../deps';
import type { VideoGenerationConfig } from './config';
import type { ProviderJobRef } from './poll-status';
import { providerCall, toProviderFailure } from './provider-failure';
import { createVideoProvider } from './providers';

export interface DownloadVideoInput extends ProviderJobRef {
  jobId: string;
}

export interface DownloadVideoOutput {
  /** Among the job's files: `videos/<jobId>.mp4`. */
  file: string;
  bytes: number;
  downloadUrl: string;
}

const HEARTBEAT_EVERY_MS = 1_000;

export function createDownloadActivity(deps: ActivityDeps<VideoGenerationConfig>) {
  return {
    /** Streams the finished video from the provider into blob storage, heartbeating the bytes copied. */
    async downloadVideo(input: DownloadVideoInput): Promise<DownloadVideoOutput> {
      const ctx = Context.current();
      const provider = createVideoProvider(input.provider, deps.config);
      const download = await providerCall(input.provider, 'download', () => provider.download(input.providerJobId, ctx.cancellationSignal));
      const maxBytes = deps.config.VIDEO_MAX_BYTES;
      // Another attempt would fetch the same file: too large is permanent.
      const tooLarge = () =>
        ApplicationFailure.create({
          type: 'ProviderVideoTooLarge',
          message: `${input.provider} download: the video is larger than VIDEO_MAX_BYTES (${maxBytes} bytes)`,
          nonRetryable: true,
        });
      if (download.contentLength !== undefined && download.contentLength > maxBytes) {
        dropBody(download.body);
        throw tooLarge();
      }
      const file = videoFilePath(input.jobId);
      let bytes = 0;
      let head = Buffer.alloc(0);
      let lastBeat = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          if (head.length < 8) {
            head = Buffer.concat([head, chunk]).subarray(0, 8);
            // An MP4 opens with its ftyp box; anything else (an HTML error page…) is not a video.
            if (head.length === 8 && head.toString('latin1', 4, 8) !== 'ftyp') {
              return done(
                ApplicationFailure.create({
                  type: 'ProviderBadVideo',
                  message: `${input.provider} download: the file is not an MP4 (no ftyp box)`,
                  nonRetryable: true,
                }),
              );
            }
          }
          bytes += chunk.length;
          if (bytes > maxBytes) return done(tooLarge());
          if (Date.now() - lastBeat >= HEARTBEAT_EVERY_MS) {
            lastBeat = Date.now();
            ctx.heartbeat({ bytes });
          }
          done(null, chunk);
        },
      });
      download.body.once('error', (e) => meter.destroy(download.failure(e)));
      try {
        await deps.store.put(jobFileKey(input.jobId, file), download.body.pipe(meter), { contentType: 'video/mp4' });
      } catch (e) {
        dropBody(download.body);
        throw toProviderFailure(e, input.provider, 'download');
      }
      if (download.contentLength !== undefined && download.contentLength !== bytes) {
        throw ApplicationFailure.create({
          type: 'ProviderNetworkError',
          message: `${input.provider} download: got ${bytes} of ${download.contentLength} bytes`,
        });
      }
      if (bytes < 8)
        throw ApplicationFailure.create({
          type: 'ProviderBadVideo',
          message: `${input.provider} download: the file is empty`,
          nonRetryable: true,
        });
      ctx.heartbeat({ bytes });
      return { file, bytes, downloadUrl: jobFileUrl(deps.config.publicUrl, input.jobId, file) };
    },
  };
}
