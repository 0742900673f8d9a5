// Turns what the AWS SDK throws during the startup check into a sentence naming the setting to fix.

interface Where {
  bucket: string;
  endpoint?: string;
  region: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPROTO', 'CERT_HAS_EXPIRED']);

export function explainS3Failure(e: unknown, where: Where): string {
  const err = e as Error & { code?: string; Code?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
  const name = err?.name ?? 'Error';
  const code = err?.code ?? err?.cause?.code;
  const status = err?.$metadata?.httpStatusCode;
  const endpoint = where.endpoint ?? `AWS S3 in ${where.region}`;
  const bucket = `S3_BUCKET "${where.bucket}"`;

  if (name === 'CredentialsProviderError')
    return 'no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, a web identity or an instance role)';
  if ((code && NETWORK_CODES.has(code)) || name === 'TimeoutError' || name === 'AbortError')
    return `cannot reach the S3 endpoint ${endpoint} (${code ?? name}): check S3_ENDPOINT and that the server is running`;
  if (name === 'NoSuchBucket') return `${bucket} does not exist at ${endpoint}: create it or fix S3_BUCKET`;
  if (name === 'InvalidAccessKeyId') return `the S3 server at ${endpoint} does not know AWS_ACCESS_KEY_ID: check the credentials`;
  if (name === 'SignatureDoesNotMatch') return `the S3 server at ${endpoint} rejected the signature: AWS_SECRET_ACCESS_KEY is wrong`;
  if (name === 'AccessDenied' || status === 403)
    return `access denied to ${bucket} at ${endpoint}: the credentials lack permission to list, write or delete objects there`;
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301)
    return `${bucket} lives in another region than S3_REGION "${where.region}": set S3_REGION to the bucket's region`;
  if (status && !/^[A-Z][A-Za-z]+$/.test(name))
    return `${endpoint} answered HTTP ${status} without an S3 error: is S3_ENDPOINT an S3 server (and S3_FORCE_PATH_STYLE right for it)?`;
  return `S3 check of ${bucket} at ${endpoint} failed: ${name}: ${err?.message ?? String(e)}`;
}
