import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { StorageCleanupInput, StorageCleanupResult } from '../../workflows/storage-cleanup/contract';
import type { ActivityDeps } from '../deps';

/** Job folders looked at together; the heartbeat after each batch is the resume point. */
const BATCH_SIZE = 8;

interface CleanupCheckpoint {
  /** Every job folder up to and including this id (folders are listed sorted) is done. */
  doneThrough: string;
  totals: StorageCleanupResult;
}

export function createDeleteExpiredJobFilesActivity(deps: ActivityDeps) {
  return {
    /**
     * Deletes `jobs/<jobId>/` when the newest file in it is older than the retention, so a job
     * that wrote anything recently (a running one) keeps all its files. A retried attempt
     * resumes after the last batch its predecessor heartbeated.
     */
    async deleteExpiredJobFiles(input: StorageCleanupInput): Promise<StorageCleanupResult> {
      if (!(Number.isFinite(input.retentionMs) && input.retentionMs > 0)) {
        throw ApplicationFailure.create({
          type: 'InvalidRetention',
          message: `retentionMs must be a positive number, got ${input.retentionMs}`,
          nonRetryable: true,
        });
      }
      const ctx = Context.current();
      const checkpoint = ctx.info.heartbeatDetails as CleanupCheckpoint | undefined;
      const totals: StorageCleanupResult = checkpoint?.totals ?? { jobsScanned: 0, jobsDeleted: 0, filesDeleted: 0, bytesFreed: 0 };
      const cutoff = deps.now().getTime() - input.retentionMs;

      const jobIds = (await deps.store.listFolders('jobs/')).filter((id) => !checkpoint || id > checkpoint.doneThrough);
      if (checkpoint) deps.logger.info('storage cleanup resumes', { after: checkpoint.doneThrough, remaining: jobIds.length });

      const cleanJob = async (jobId: string) => {
        const folder = `jobs/${jobId}/`;
        const files = await deps.store.listInfo(folder);
        const newest = Math.max(...files.map((f) => f.modifiedAt?.getTime() ?? Infinity));
        totals.jobsScanned += 1;
        // An empty folder may be a job writing its first file: leave it.
        if (!files.length || newest >= cutoff) return;
        const freed = await deps.store.deleteFolder(folder);
        totals.jobsDeleted += 1;
        totals.filesDeleted += freed.files;
        totals.bytesFreed += freed.bytes;
      };

      for (let i = 0; i < jobIds.length; i += BATCH_SIZE) {
        if (ctx.cancellationSignal.aborted) await ctx.cancelled;
        const batch = jobIds.slice(i, i + BATCH_SIZE);
        await Promise.all(batch.map(cleanJob));
        ctx.heartbeat({ doneThrough: batch[batch.length - 1], totals } satisfies CleanupCheckpoint);
      }
      deps.logger.info('storage cleanup done', { ...totals, retentionMs: input.retentionMs });
      return totals;
    },
  };
}
