// An upload's deadline grows with its size: the call's usual deadline plus the time the bytes
// take at a slow but working uplink, so a large bundle is not cut off while a stalled one still is.

const SLOWEST_UPLOAD_BYTES_PER_S = 256 * 1024;

export function uploadTimeoutMs(baseMs: number, bytes: number): number {
  return baseMs + Math.ceil((bytes / SLOWEST_UPLOAD_BYTES_PER_S) * 1000);
}
