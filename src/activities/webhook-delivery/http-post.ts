import http from 'node:http';
import https from 'node:https';
import { checkUrl, guardedLookup, OutboundPolicy } from '../../net/ssrf-guard';

// One POST, no redirects followed (a 3xx comes back as a status), the SSRF guard on the
// address actually connected to, and one deadline over connect, send and response.

export interface PostResult {
  status: number;
  headers: http.IncomingHttpHeaders;
}

export class PostTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no complete response within ${timeoutMs} ms`);
    this.name = 'PostTimeoutError';
  }
}

/** Receivers answer with a status; anything longer than this is read and thrown away. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export function postOnce(
  rawUrl: string,
  body: string,
  headers: Record<string, string>,
  opts: { policy: OutboundPolicy; timeoutMs: number },
): Promise<PostResult> {
  // Throws BlockedTargetError for bad schemes and private IP literals (names are checked at connect time).
  const url = checkUrl(rawUrl, opts.policy);
  const payload = Buffer.from(body, 'utf8');
  const send = url.protocol === 'https:' ? https.request : http.request;
  return new Promise<PostResult>((resolve, reject) => {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), opts.timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(deadline.signal.aborted ? new PostTimeoutError(opts.timeoutMs) : err);
    };
    const req = send(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(payload.length) },
      lookup: guardedLookup(opts.policy),
      // A fresh connection per attempt: a pooled socket would skip the guarded lookup.
      agent: false,
      signal: deadline.signal,
    });
    req.on('error', fail);
    req.on('response', (res) => {
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > MAX_RESPONSE_BYTES) res.destroy();
      });
      const done = () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      };
      res.on('end', done);
      res.on('close', done);
      res.on('error', fail);
    });
    req.end(payload);
  });
}
