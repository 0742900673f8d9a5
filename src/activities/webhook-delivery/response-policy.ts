// What a receiver's answer means for the next attempt (Standard Webhooks retry rules).

/** 4xx answers worth retrying: timeout, conflict, too early, rate-limited. Every other 4xx is permanent (410: receiver gone). */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

export function isPermanentFailure(status: number): boolean {
  return status >= 400 && status < 500 && !RETRYABLE_4XX.has(status);
}
