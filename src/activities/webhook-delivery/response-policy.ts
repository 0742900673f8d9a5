// What a receiver's answer means for the next attempt (Standard Webhooks retry rules).

/** 4xx answers worth retrying: timeout, conflict, too early, rate-limited. Every other 4xx is permanent (410: receiver gone). */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

export function isPermanentFailure(status: number): boolean {
  return status >= 400 && status < 500 && !RETRYABLE_4XX.has(status);
}

/** Retry-After as delta-seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}
