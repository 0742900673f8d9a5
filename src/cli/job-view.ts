// How the CLI reads and shows a job from GET /api/v1/jobs/:id, whatever its type: progress
// either counts items (`total` with `succeeded`/`failed`) or has a `percent` and a `phase`.

export interface JobBody {
  jobId: string;
  type?: string;
  owner?: string;
  status: string;
  startedAt?: string;
  closedAt?: string;
  temporalUiUrl?: string;
  progress?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: string;
  [field: string]: unknown;
}

export interface ProgressView {
  value: number;
  total: number;
  unit: string;
  detail: string;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

export function progressView(job: JobBody): ProgressView {
  const p = job.progress ?? {};
  const total = num(p.total);
  if (total !== undefined) {
    const succeeded = num(p.succeeded) ?? 0;
    const failed = num(p.failed) ?? 0;
    const inFlight = num(p.inFlight);
    const detail = [`${succeeded} ok`, `${failed} failed`, ...(inFlight ? [`${inFlight} in flight`] : [])].join(' · ');
    return { value: Math.min(total, succeeded + failed), total, unit: 'items', detail };
  }
  const percent = num(p.percent);
  const detail = [str(p.phase), str(p.lastLine)].filter(Boolean).join(' · ') || job.status;
  return { value: Math.round(percent ?? 0), total: 100, unit: '%', detail };
}

function duration(job: JobBody): string | undefined {
  if (!job.startedAt || !job.closedAt) return undefined;
  const s = (Date.parse(job.closedAt) - Date.parse(job.startedAt)) / 1000;
  if (!Number.isFinite(s)) return undefined;
  return s < 120 ? `${s.toFixed(1)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
}

/** Scalar fields of a result, one per line; lists show their length. */
function resultLines(result: Record<string, unknown>): string[] {
  return Object.entries(result)
    .filter(([k]) => k !== 'status' && k !== 'progress')
    .map(([k, v]) => {
      if (Array.isArray(v)) return `  ${k}: ${v.length} item${v.length === 1 ? '' : 's'}`;
      if (v && typeof v === 'object') return `  ${k}: ${JSON.stringify(v).slice(0, 200)}`;
      return `  ${k}: ${String(v)}`;
    });
}

/** A job as a person reads it: status line, progress or result, error, links. */
export function jobSummary(job: JobBody): string {
  const took = duration(job);
  const lines = [`${job.jobId}  ${job.type ?? ''}  ${job.status}${took ? ` after ${took}` : ''}`.replace(/\s{3,}/g, '  ')];
  if (job.status === 'running' && job.progress) {
    const p = progressView(job);
    lines.push(p.unit === 'items' ? `  progress: ${p.value}/${p.total} (${p.detail})` : `  progress: ${p.value}% (${p.detail})`);
  }
  if (job.result) lines.push(...resultLines(job.result));
  if (job.error) lines.push(`  error: ${job.error}`);
  if (job.temporalUiUrl) lines.push(`  temporal: ${job.temporalUiUrl}`);
  return lines.join('\n');
}
