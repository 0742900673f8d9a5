// Conversion contract shared by the API, the bulk workflow and the conversion activities. Pure module.

export const CONVERSION_FORMATS = ['h5p', 'markdown'] as const;
export type ConversionFormat = (typeof CONVERSION_FORMATS)[number];

/** File extension of each format's artifact. */
export const CONVERSION_EXTENSIONS: Record<ConversionFormat, string> = { h5p: 'h5p', markdown: 'md' };

/** Content type each format's artifact is stored and served with. */
export const CONVERSION_CONTENT_TYPES: Record<ConversionFormat, string> = {
  h5p: 'application/zip',
  markdown: 'text/markdown; charset=utf-8',
};

/** Where the artifact of the `index`-th URL lives, relative to `jobs/<jobId>/`: `artifacts/000123.h5p`. */
export function conversionArtifactPath(index: number, format: ConversionFormat): string {
  return `artifacts/${String(index).padStart(6, '0')}.${CONVERSION_EXTENSIONS[format]}`;
}

/**
 * `ApplicationFailure.type` of each way converting one URL can fail. The first group is
 * permanent (non-retryable); the second is transient and retried with backoff.
 */
export const CONVERSION_ERRORS = {
  blockedTarget: 'BlockedTarget',
  httpClientError: 'HttpClientError',
  unsupportedContentType: 'UnsupportedContentType',
  tooLarge: 'ResponseTooLarge',
  tooManyRedirects: 'TooManyRedirects',
  invalidUrl: 'InvalidUrl',
  unparseable: 'UnparseableContent',
  /** The page needed more than CONVERSION_PAGE_TIMEOUT of thread time. */
  tooComplex: 'content_too_complex',
  /** Converting the page needed more than CONVERSION_THREAD_HEAP. */
  contentTooLarge: 'content_too_large',

  httpServerError: 'HttpServerError',
  httpRetryable: 'HttpRetryableStatus',
  network: 'NetworkError',
  timeout: 'FetchTimeout',
} as const;
export type ConversionErrorType = (typeof CONVERSION_ERRORS)[keyof typeof CONVERSION_ERRORS];

const PERMANENT: ReadonlySet<string> = new Set<string>([
  CONVERSION_ERRORS.blockedTarget,
  CONVERSION_ERRORS.httpClientError,
  CONVERSION_ERRORS.unsupportedContentType,
  CONVERSION_ERRORS.tooLarge,
  CONVERSION_ERRORS.tooManyRedirects,
  CONVERSION_ERRORS.invalidUrl,
  CONVERSION_ERRORS.unparseable,
  CONVERSION_ERRORS.tooComplex,
  CONVERSION_ERRORS.contentTooLarge,
]);

/** True for failure types that retrying cannot fix. */
export function isPermanentConversionError(type: string | null | undefined): boolean {
  return typeof type === 'string' && PERMANENT.has(type);
}
