import { Router } from 'express';
import { prefixedQueue } from '../shared/task-queues';
import { ALL_TASK_QUEUES } from '../worker/job-registry';
import { describePollers } from '../temporal/queue-pollers';
import type { ApiContext } from './context';

/** How long one readiness call to Temporal may take: a gRPC deadline, so the call itself ends (a timer race would leave it running). */
const CALL_TIMEOUT_MS = 3_000;

const NOT_READY_MAX_AGE_MS = 1_000;

interface Check {
  ok: boolean;
  detail?: string;
}

interface Readiness {
  ready: boolean;
  checks: Record<string, Check>;
  checkedAt: number;
}

/** What a failed Temporal call may say publicly: its gRPC status, never the address or the transport's words. */
function publicReason(e: unknown): string {
  const err = e as { code?: number; details?: string; message?: string };
  const names: Record<number, string> = {
    4: `no answer within ${CALL_TIMEOUT_MS} ms`,
    7: 'permission denied',
    14: 'unavailable',
    16: 'unauthenticated',
  };
  return names[err.code ?? -1] ?? 'error';
}

export function healthRoutes(ctx: ApiContext): Router {
  const r = Router();
  const required = ctx.config.READY_REQUIRED_QUEUES.length ? ctx.config.READY_REQUIRED_QUEUES : ALL_TASK_QUEUES;
  let cached: Readiness | undefined;
  let inFlight: Promise<Readiness> | undefined;

  r.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const withinDeadline = <T>(call: () => Promise<T>) => ctx.client.withDeadline(Date.now() + CALL_TIMEOUT_MS, call);

  // Ready = Temporal answers and every required task queue has a polling worker.
  async function check(): Promise<Readiness> {
    const checks: Record<string, Check> = {};
    try {
      await withinDeadline(() => ctx.client.workflowService.getSystemInfo({}));
      checks.temporal = { ok: true };
    } catch (e) {
      ctx.logger.warn('readiness: Temporal unreachable', { error: e });
      checks.temporal = { ok: false, detail: `Temporal unreachable (${publicReason(e)})` };
    }
    if (checks.temporal.ok) {
      await Promise.all(
        required.map(async (base) => {
          const name = prefixedQueue(ctx.config.TASK_QUEUE_PREFIX, base);
          try {
            const p = await withinDeadline(() => describePollers(ctx.client, ctx.config.TEMPORAL_NAMESPACE, name));
            const ok = p.workflowPollers.length + p.activityPollers.length > 0;
            checks[`taskQueue:${name}`] = ok ? { ok } : { ok, detail: `no worker is polling task queue "${name}"` };
          } catch (e) {
            checks[`taskQueue:${name}`] = { ok: false, detail: `could not describe the task queue (${publicReason(e)})` };
          }
        }),
      );
    }
    return { ready: Object.values(checks).every((c) => c.ok), checks, checkedAt: Date.now() };
  }

  /**
   * Orchestrators call this often: answers within READY_CACHE reuse one round of checks, and
   * concurrent calls share one. A not-ready answer is reused for at most a second, so a worker
   * that has just come up is seen soon.
   */
  function readiness(): Promise<Readiness> {
    const maxAge = cached?.ready ? ctx.config.READY_CACHE : Math.min(ctx.config.READY_CACHE, NOT_READY_MAX_AGE_MS);
    if (cached && Date.now() - cached.checkedAt < maxAge) return Promise.resolve(cached);
    inFlight ??= check()
      .then((result) => (cached = result))
      .finally(() => (inFlight = undefined));
    return inFlight;
  }

  r.get('/health/ready', async (_req, res) => {
    const { ready, checks, checkedAt } = await readiness();
    const failed = Object.entries(checks)
      .filter(([, c]) => !c.ok)
      .map(([name]) => name);
    res.setHeader('Cache-Control', 'no-store');
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not_ready', failed, checks, checkedAt: new Date(checkedAt).toISOString() });
  });
  return r;
}
