import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { fetchHtml, FetchHtmlOptions } from '../../net/fetch-html';
import { OutboundError, type OutboundFailureKind } from '../../net/http-client';
import {
  CONVERSION_CONTENT_TYPES,
  CONVERSION_ERRORS,
  ConversionErrorType,
  ConversionFormat,
  conversionArtifactPath,
  isPermanentConversionError,
} from '../../workflows/bulk-conversion/formats';
import { jobFileKey } from '../../shared/urls';
import type { LocalBlobFile } from '../../storage/blob-store';
import type { ActivityDeps } from '../deps';
import type { BulkConversionConfig } from './config';
import { ByteBudget, ByteReservation } from './byte-budget';
import { ConversionPool, createConversionPool, poolOptionsFrom, PoolOutcome } from './conversion-pool';

// One URL → one stored artifact. Not an activity itself: the chunk activity calls it for
// each URL it owns, so failures come back as ApplicationFailures whose `type` and
// `nonRetryable` say whether trying the URL again can help. The page is fetched on this
// event loop and converted in the conversion thread pool.

export type { ConversionFormat } from '../../workflows/bulk-conversion/formats';
export { CONVERSION_ERRORS, isPermanentConversionError, conversionArtifactPath } from '../../workflows/bulk-conversion/formats';

export interface ConvertUrlInput {
  jobId: string;
  /** Position of the URL in the job's list; names the artifact. */
  index: number;
  url: string;
  format: ConversionFormat;
  /** Aborts the fetch, e.g. Temporal's activity cancellation signal. */
  signal?: AbortSignal;
  /** Called once the page is fetched: what remains (conversion, storage) no longer uses the network. */
  onFetched?: () => void;
}

export interface ConvertUrlOutput {
  /** Relative to `jobs/<jobId>/`, e.g. `artifacts/000123.h5p`. */
  artifactPath: string;
  bytes: number;
  title: string;
  /**
   * Set when the artifact is in place but not yet durable (its folder sync is shared with the
   * next artifacts): settles once it is. Report the artifact only after that.
   */
  durable?: Promise<unknown>;
}

export function createUrlConverter(
  deps: ActivityDeps<BulkConversionConfig>,
  pool: ConversionPool = createConversionPool(poolOptionsFrom(deps.config)),
): (input: ConvertUrlInput) => Promise<ConvertUrlOutput> {
  const { config } = deps;
  const pageBytes = new ByteBudget(config.CONVERSION_MAX_BYTES_IN_FLIGHT);
  /** Pages fetched with their slot freed that have not joined the pool's line yet (a check phase, a job's first folder away). */
  let arriving = 0;
  const fetchOptions: Omit<FetchHtmlOptions, 'signal'> = {
    policy: { allowHosts: config.OUTBOUND_ALLOW_HOSTS },
    timeoutMs: config.FETCH_TIMEOUT,
    connectTimeoutMs: Math.min(config.FETCH_CONNECT_TIMEOUT, config.FETCH_TIMEOUT),
    maxBytes: config.FETCH_MAX_BYTES,
    maxRedirects: 5,
  };

  async function fetchAndConvert(
    { jobId, index, url, format, signal, onFetched }: ConvertUrlInput,
    room: ByteReservation,
  ): Promise<ConvertUrlOutput> {
    let page;
    try {
      page = await fetchHtml(url, { ...fetchOptions, signal });
    } catch (e) {
      if (signal?.aborted) throw cancelled(signal);
      if (e instanceof OutboundError) throw failureFromFetch(e);
      throw e;
    }
    room.settle(page.bytes);
    // The fetch slot frees now, unless pages already pile up for the threads (counting those on
    // their way to the pool's line): then it frees when this page reaches a thread, so fetching
    // runs ahead of conversion by a bounded backlog.
    const backlogged = pool.backlogged(arriving);
    if (!backlogged) onFetched?.();
    const artifactPath = conversionArtifactPath(index, format);
    const key = jobFileKey(jobId, artifactPath);
    const contentType = CONVERSION_CONTENT_TYPES[format];
    arriving += 1;
    let local: LocalBlobFile | undefined;
    try {
      // Handing the page to a thread waits for the loop's check phase: responses that arrived
      // together are all read, and their lanes' next requests sent, before any page is handed over.
      await new Promise(setImmediate);
      // On a local store the conversion thread writes the artifact too: no file calls on this event loop.
      local = await deps.store.localFile?.(key, { contentType });
    } finally {
      arriving -= 1; // the page joins the pool's line below, in this same turn
    }
    const outcome = await pool
      .convert(
        { html: page.html, url: page.url, format, group: jobId, writeTo: local?.file, onSent: backlogged ? onFetched : undefined },
        signal,
      )
      .catch((e) => {
        throw signal?.aborted ? cancelled(signal) : e;
      });
    room.release();
    if (outcome.kind !== 'converted') {
      throw ApplicationFailure.create({
        type: FAILURE_TYPES[outcome.kind],
        message: outcome.message,
        nonRetryable: true,
        details: [{ url: page.url }],
      });
    }
    if (signal?.aborted) throw cancelled(signal);
    const { body } = outcome;
    // No body back: the thread stored it in the local file, which only awaits its folder sync.
    if (!body) return { artifactPath, bytes: outcome.bytes, title: outcome.title, durable: local!.commit(outcome.bytes) };
    const stored = await deps.store.put(key, Buffer.from(body.buffer, body.byteOffset, body.byteLength), { contentType });
    return { artifactPath, bytes: stored.bytes, title: outcome.title };
  }

  return async function convertUrl(input: ConvertUrlInput): Promise<ConvertUrlOutput> {
    if (!Number.isInteger(input.index) || input.index < 0) throw new TypeError(`index must be a non-negative integer, got ${input.index}`);
    // Room for the page is held from before its fetch until its conversion ends.
    const room =
      pageBytes.tryReserve() ??
      (await pageBytes.reserve(input.signal).catch((e) => {
        throw input.signal?.aborted ? cancelled(input.signal) : e;
      }));
    try {
      return await fetchAndConvert(input, room);
    } finally {
      room.release();
    }
  };
}

const FAILURE_TYPES: Record<Exclude<PoolOutcome['kind'], 'converted'>, string> = {
  unparseable: CONVERSION_ERRORS.unparseable,
  'too-complex': CONVERSION_ERRORS.tooComplex,
  'too-large': CONVERSION_ERRORS.contentTooLarge,
};

function cancelled(signal: AbortSignal): Error {
  // Temporal's cancellation signal carries a CancelledFailure as its reason; pass it on.
  return signal.reason instanceof Error ? signal.reason : new CancelledFailure('conversion cancelled');
}

/** Maps a fetch failure to the ApplicationFailure the chunk activity records or retries. */
/** The conversion error type of each way a fetch fails (HTTP statuses are sorted by code below). */
const FETCH_FAILURE_TYPES: Record<Exclude<OutboundFailureKind, 'http-status'>, ConversionErrorType> = {
  'invalid-url': CONVERSION_ERRORS.invalidUrl,
  blocked: CONVERSION_ERRORS.blockedTarget,
  'unsupported-content': CONVERSION_ERRORS.unsupportedContentType,
  'too-large': CONVERSION_ERRORS.tooLarge,
  'too-many-redirects': CONVERSION_ERRORS.tooManyRedirects,
  timeout: CONVERSION_ERRORS.timeout,
  network: CONVERSION_ERRORS.network,
  aborted: CONVERSION_ERRORS.network,
};

function httpStatusType(status: number): ConversionErrorType {
  if (status >= 500) return CONVERSION_ERRORS.httpServerError;
  if (status === 408 || status === 429) return CONVERSION_ERRORS.httpRetryable;
  return CONVERSION_ERRORS.httpClientError;
}

export function failureFromFetch(e: OutboundError): ApplicationFailure {
  const details = [{ url: e.url, ...(e.details.status ? { httpStatus: e.details.status } : {}) }];
  const type = e.kind === 'http-status' ? httpStatusType(e.details.status ?? 0) : FETCH_FAILURE_TYPES[e.kind];
  if (isPermanentConversionError(type)) return ApplicationFailure.create({ type, message: e.message, nonRetryable: true, details });
  return ApplicationFailure.create({ type, message: e.message, nonRetryable: false, details, nextRetryDelay: e.details.retryAfterMs });
}
