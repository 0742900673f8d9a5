import { ApplicationFailure } from '@temporalio/common';
import { chunkInputPath, StoredUrlManifest, urlManifestIndexPath, urlManifestPath } from '../../workflows/bulk-conversion/contract';
import { jobFileKey } from '../../shared/urls';
import { BlobNotFoundError, BlobStore } from '../../storage/blob-store';
import type { ActivityDeps } from '../deps';
import { readJsonLines, writeJsonLines } from '../../storage/json-lines';
import { loadManifestIndex, manifestFailure, manifestIndexBuilder } from './manifest-index';

/**
 * Stores a job's URL list as its manifest (the API does this for lists too large to pass inline),
 * and beside it the manifest's line index, built in the same pass.
 */
export async function storeUrlManifest(
  store: BlobStore,
  jobId: string,
  requestHash: string,
  urls: Iterable<string>,
): Promise<Required<StoredUrlManifest>> {
  const manifestPath = urlManifestPath(requestHash);
  const builder = manifestIndexBuilder();
  await writeJsonLines(store, jobFileKey(jobId, manifestPath), urls, builder.addLine);
  await store.put(jobFileKey(jobId, urlManifestIndexPath(manifestPath)), JSON.stringify(builder.index), {
    contentType: 'application/json',
  });
  return { manifestPath, count: builder.index.lines, indexed: true };
}

export interface CheckManifestInput {
  jobId: string;
  manifestPath: string;
  count: number;
}

const PARALLEL_WRITES = 8;

export interface SplitManifestInput {
  jobId: string;
  manifestPath: string;
  chunkSize: number;
}

export function createManifestActivities(deps: ActivityDeps) {
  return {
    /**
     * Makes sure an indexed manifest is there and holds `count` URLs, from its index and the
     * manifest's size (a local activity: the job's first chunks start in the same workflow task).
     */
    async checkUrlManifest(input: CheckManifestInput): Promise<void> {
      const manifestKey = jobFileKey(input.jobId, input.manifestPath);
      const [index, manifest] = await Promise.all([
        loadManifestIndex(deps.store, jobFileKey(input.jobId, urlManifestIndexPath(input.manifestPath))),
        deps.store.stat(manifestKey),
      ]);
      if (!index || !manifest) throw manifestFailure('ManifestNotFound', `no URL manifest at ${input.manifestPath}`);
      if (index.lines !== input.count)
        throw manifestFailure('InvalidManifest', `the URL manifest lists ${index.lines} URLs, the job has ${input.count}`);
      if (index.bytes !== manifest.bytes)
        throw manifestFailure('InvalidManifest', `the URL manifest is ${manifest.bytes} bytes, its index says ${index.bytes}`);
    },

    /**
     * Cuts the manifest into one small file per chunk so each chunk activity reads only its
     * own URLs. Idempotent: a retry rewrites the same files.
     */
    async splitUrlManifest(input: SplitManifestInput): Promise<{ total: number; chunkCount: number }> {
      let total = 0;
      let chunk = 0;
      let batch: string[] = [];
      // Chunk files are written a few at a time: each is a small durable put whose cost is mostly
      // waiting for its fsyncs, and the job's first chunk starts only when all are written.
      const writing = new Set<Promise<number>>();
      const flush = async () => {
        const write = writeJsonLines(deps.store, jobFileKey(input.jobId, chunkInputPath(chunk)), batch);
        writing.add(write);
        void write.then(
          () => writing.delete(write),
          () => undefined,
        );
        chunk += 1;
        batch = [];
        if (writing.size >= PARALLEL_WRITES) await Promise.race(writing);
      };
      try {
        for await (const url of readJsonLines<unknown>(deps.store, jobFileKey(input.jobId, input.manifestPath))) {
          if (typeof url !== 'string')
            throw ApplicationFailure.create({
              type: 'InvalidManifest',
              message: `line ${total + 1} of the URL manifest is not a JSON string`,
              nonRetryable: true,
            });
          batch.push(url);
          total += 1;
          if (batch.length === input.chunkSize) await flush();
        }
      } catch (e) {
        if (e instanceof BlobNotFoundError)
          throw ApplicationFailure.create({
            type: 'ManifestNotFound',
            message: `no URL manifest at ${input.manifestPath}`,
            nonRetryable: true,
          });
        if (e instanceof SyntaxError)
          throw ApplicationFailure.create({
            type: 'InvalidManifest',
            message: `the URL manifest is not JSON lines: ${e.message}`,
            nonRetryable: true,
          });
        throw e;
      }
      if (batch.length) await flush();
      await Promise.all(writing);
      return { total, chunkCount: chunk };
    },
  };
}
