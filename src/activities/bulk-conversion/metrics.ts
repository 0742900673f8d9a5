import type { JobMetricsHooks } from '../../worker/job-definition';
import type { ConvertChunkInput, ConvertChunkResult } from './chunk';

// URLs counted from each completed chunk: a first pass reports every URL of the chunk; a retry
// pass re-ran only the chunk's failed URLs, so what is still failed failed again and the rest
// of what it re-ran now succeeded.
export const bulkConversionMetrics: JobMetricsHooks = {
  itemsProcessed(activityType, args, result) {
    if (activityType !== 'convertChunk') return undefined;
    const input = args[0] as ConvertChunkInput;
    const r = result as ConvertChunkResult;
    if (input.mode === 'convert') return { succeeded: r.succeeded, failed: r.failed };
    return { succeeded: r.processed - r.failed, failed: r.failed };
  },
};
