// One reading of a server's "come back later" hint for every outbound caller (page fetches,
// webhooks, video providers): Retry-After as delta-seconds or an HTTP date, and Google's
// `retryDelay` ("7s"), in ms, never negative and never more than the cap, so a hostile or
// confused server cannot park a retry for days.

export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** Retry-After in ms from `now`, capped; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number | Date = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text) - Number(now);
  return capped(ms);
}

/** Google's RetryInfo `retryDelay` ("7s", "1.5s") in ms, capped. */
export function parseRetryDelay(value: string | undefined): number | undefined {
  const m = value ? /^(\d+(?:\.\d+)?)s$/.exec(value.trim()) : null;
  return m ? capped(Number(m[1]) * 1000) : undefined;
}

function capped(ms: number): number | undefined {
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(Math.round(ms), 0), MAX_RETRY_AFTER_MS);
}
