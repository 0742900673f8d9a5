import type { BlobStore } from './blob-store';

// A job's record: what GET /api/v1/jobs/:id showed when the job ended, kept beside its files as
// jobs/<id>/job.json so the job still answers once Temporal's retention has removed the workflow.

/** Bounded so one record never costs more than a small read. */
export const MAX_RECORD_BYTES = 512 * 1024;

export interface JobRecord {
  jobId: string;
  type: string;
  owner: string;
  status: string;
  /** Temporal's execution status when it was recorded (COMPLETED, FAILED, TERMINATED, …). */
  executionStatus: string;
  startedAt?: string;
  closedAt?: string;
  summary?: string;
  replayOf?: string;
  /** The status view of the job (progress, result, error, webhook state), as the API showed it. */
  view: Record<string, unknown>;
  failure?: { class: string; error: string; attempts?: number };
  recordedAt: string;
  /** Set when an admin purged the job's other files. */
  filesPurgedAt?: string;
}

export const jobRecordKey = (jobId: string) => `jobs/${jobId}/job.json`;

export async function writeJobRecord(store: BlobStore, record: JobRecord): Promise<void> {
  let body = JSON.stringify(record);
  if (Buffer.byteLength(body) > MAX_RECORD_BYTES) {
    // A long inline result list: keep the record, point at the results file instead.
    const { result: _dropped, ...view } = record.view;
    body = JSON.stringify({ ...record, view: { ...view, resultTruncated: true } });
  }
  await store.put(jobRecordKey(record.jobId), body, { contentType: 'application/json' });
}

export async function readJobRecord(store: BlobStore, jobId: string): Promise<JobRecord | undefined> {
  const info = await store.stat(jobRecordKey(jobId)).catch(() => null);
  if (!info || info.bytes > MAX_RECORD_BYTES * 2) return undefined;
  try {
    const parsed = JSON.parse((await store.getBuffer(jobRecordKey(jobId))).toString('utf8')) as JobRecord;
    return parsed && parsed.jobId === jobId && typeof parsed.owner === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}
