import { ApplicationFailure } from '@temporalio/common';
import {
  BULK_CONVERSION_LIMITS,
  BulkConversionCounts,
  chunkInputPath,
  chunkResultsPath,
  PublicUrlResult,
  RESULTS_PATH,
  UrlResult,
} from '../../workflows/bulk-conversion/contract';
import { jobFileKey, jobFileUrl } from '../../shared/urls';
import type { ActivityDeps } from '../deps';
import { readAllJsonLines, writeJsonLineBatches } from '../../storage/json-lines';
import { openIndexedManifest } from './manifest-index';

export interface FinalizeInput {
  jobId: string;
  total: number;
  chunkSize: number;
  /** The job's URLs when they were inline (to name the URLs a cancelled job never reached). */
  urls?: string[];
  /** The job's indexed URL manifest, when its list is one (otherwise URLs come from the chunks' input files). */
  manifestPath?: string;
  cancelled: boolean;
  /** Chunks whose activity failed for good, with the reason: their unrecorded URLs failed for it. */
  failedChunks?: Record<string, string>;
}

export interface FinalizeOutput extends BulkConversionCounts {
  resultsPath: string;
  resultsUrl: string;
  /** Every URL's result when the job is small. */
  results?: PublicUrlResult[];
}

/** Chunk result files read at once (each up to 1,000 results). */
const RESULTS_READ_AHEAD = 8;

export function createFinalizeActivities(deps: ActivityDeps) {
  const present = (jobId: string, r: UrlResult): PublicUrlResult => ({
    index: r.index,
    url: r.url,
    status: r.status,
    ...(r.artifactPath ? { downloadUrl: jobFileUrl(deps.config.publicUrl, jobId, r.artifactPath), artifactPath: r.artifactPath } : {}),
    ...(r.title !== undefined ? { title: r.title } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
  });

  return {
    /**
     * Merges the chunk result files, in URL order, into the job's `results.jsonl` and counts
     * the outcomes. URLs a cancelled job never reached are listed with status `cancelled`.
     */
    async finalizeBulkConversion(input: FinalizeInput): Promise<FinalizeOutput> {
      const counts: BulkConversionCounts = { total: input.total, succeeded: 0, failed: 0, cancelled: 0 };
      const inline: PublicUrlResult[] | undefined = input.total <= BULK_CONVERSION_LIMITS.maxInlineResults ? [] : undefined;
      const chunkCount = Math.ceil(input.total / input.chunkSize);

      // The next chunks' results are read while one is merged: on S3 each file is a round trip.
      const reads = new Map<number, Promise<UrlResult[] | undefined>>();
      const readAhead = (from: number) => {
        for (let chunk = from; chunk < Math.min(chunkCount, from + RESULTS_READ_AHEAD); chunk++) {
          if (reads.has(chunk)) continue;
          const read = readAllJsonLines<UrlResult>(deps.store, jobFileKey(input.jobId, chunkResultsPath(chunk)));
          read.catch(() => undefined); // its error surfaces when the chunk's turn comes
          reads.set(chunk, read);
        }
      };

      /** Each chunk's results in URL order, a chunk at a time. */
      async function* all(): AsyncGenerator<PublicUrlResult[]> {
        for (let chunk = 0; chunk < chunkCount; chunk++) {
          const start = chunk * input.chunkSize;
          const length = Math.min(input.chunkSize, input.total - start);
          readAhead(chunk);
          const stored = (await reads.get(chunk)) ?? [];
          reads.delete(chunk);
          const byIndex = new Map(stored.map((r) => [r.index, r]));
          const urls = byIndex.size < length ? await chunkUrls(chunk, start, length) : undefined;
          const shown: PublicUrlResult[] = [];
          for (let index = start; index < start + length; index++) {
            const r: UrlResult = byIndex.get(index) ?? {
              index,
              url: urls?.[index - start] ?? '',
              status: input.cancelled ? 'cancelled' : 'failed',
              error: input.cancelled
                ? 'not converted: the job was cancelled'
                : input.failedChunks?.[chunk] !== undefined
                  ? `not converted: its chunk failed: ${input.failedChunks[chunk]}`
                  : 'no result was recorded for this URL',
            };
            if (r.status === 'success') counts.succeeded += 1;
            else if (r.status === 'cancelled') counts.cancelled += 1;
            else counts.failed += 1;
            shown.push(present(input.jobId, r));
          }
          inline?.push(...shown);
          yield shown;
        }
      }

      let manifest: ReturnType<typeof openIndexedManifest> | undefined;
      async function chunkUrls(chunk: number, start: number, length: number): Promise<string[]> {
        if (input.urls) return input.urls.slice(start, start + length);
        if (input.manifestPath) {
          manifest ??= openIndexedManifest(deps.store, input.jobId, input.manifestPath);
          // An unreadable line costs only the names of the URLs around it, not the job's results.
          const urls = await (await manifest)?.read(start, length).catch((e: unknown) => {
            if (e instanceof ApplicationFailure && e.type === 'InvalidManifest') return undefined;
            throw e;
          });
          return urls ?? [];
        }
        return (await readAllJsonLines<string>(deps.store, jobFileKey(input.jobId, chunkInputPath(chunk)))) ?? [];
      }

      await writeJsonLineBatches(deps.store, jobFileKey(input.jobId, RESULTS_PATH), all());
      return {
        ...counts,
        resultsPath: RESULTS_PATH,
        resultsUrl: jobFileUrl(deps.config.publicUrl, input.jobId, RESULTS_PATH),
        ...(inline ? { results: inline } : {}),
      };
    },
  };
}
