import { z } from 'zod';
import type { PlatformConfig } from '../../config/env';
import { byteSize, duration, int } from '../../config/schema';

export const bulkConversionEnv = z.object({
  /** Attempts per URL inside a bulk conversion chunk (transient failures only). */
  CONVERSION_URL_ATTEMPTS: int(3, 1, 10),
  /** First backoff between a URL's attempts; doubles each time. */
  CONVERSION_RETRY_INTERVAL: duration('1s'),
  /** Request body limit of POST /api/v1/jobs/bulk-conversions (100,000 URLs); other routes keep BODY_LIMIT. */
  BULK_CONVERSION_BODY_LIMIT: byteSize('16mb'),
});

export type BulkConversionConfig = PlatformConfig & z.output<typeof bulkConversionEnv>;
