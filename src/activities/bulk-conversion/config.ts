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
  /** Worker threads that parse and convert fetched pages (0 = one per core). */
  CONVERSION_THREADS: int(0, 0, 64),
  /** Heap cap of each conversion thread; a page that exhausts it fails as content_too_large. */
  CONVERSION_THREAD_HEAP: byteSize('256mb'),
  /** Thread time one page may take; past it the thread is replaced and the page fails as content_too_complex. */
  CONVERSION_PAGE_TIMEOUT: duration('10s'),
  /** Bytes of fetched pages waiting for or in conversion per worker; new fetches wait for room. */
  CONVERSION_MAX_BYTES_IN_FLIGHT: byteSize('128mb'),
  /** Sample pages a worker converts over loopback before it polls, so a first job runs on compiled code (0 = none). */
  CONVERSION_WARM_UP_PAGES: int(400, 0, 10_000),
});

export type BulkConversionConfig = PlatformConfig & z.output<typeof bulkConversionEnv>;
