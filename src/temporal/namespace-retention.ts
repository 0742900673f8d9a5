import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { durationMs } from './timestamps';

/**
 * Sets how long Temporal keeps a namespace's closed workflows (the dev server starts with 24 h).
 * Returns the retention it found before, in ms.
 */
export async function setNamespaceRetention(address: string, namespace: string, retentionMs: number): Promise<number | undefined> {
  const connection = await Connection.connect({ address });
  try {
    const current = await connection.workflowService.describeNamespace({ namespace });
    const ttl = current.config?.workflowExecutionRetentionTtl;
    const before = durationMs(ttl);
    if (before !== retentionMs) {
      await connection.workflowService.updateNamespace({
        namespace,
        config: { workflowExecutionRetentionTtl: msToTs(retentionMs) },
      });
    }
    return before;
  } finally {
    await connection.close();
  }
}
