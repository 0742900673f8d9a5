import { Router } from 'express';
import { prefixedQueue } from '../shared/task-queues';
import { ALL_TASK_QUEUES } from '../worker/job-registry';
import { describePollers } from '../temporal/queue-pollers';
import type { ApiContext } from './context';

const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms).unref())]);

export function healthRoutes(ctx: ApiContext): Router {
  const r = Router();
  r.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // Ready = Temporal answers and every task queue has a polling worker.
  r.get('/health/ready', async (_req, res) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    try {
      await withTimeout(ctx.client.workflowService.getSystemInfo({}), 3000, 'Temporal');
      checks.temporal = { ok: true };
    } catch (e) {
      checks.temporal = { ok: false, detail: `Temporal at ${ctx.config.TEMPORAL_ADDRESS} unreachable: ${(e as Error).message}` };
    }
    if (checks.temporal.ok) {
      await Promise.all(
        ALL_TASK_QUEUES.map(async (base) => {
          const name = prefixedQueue(ctx.config.TASK_QUEUE_PREFIX, base);
          try {
            const p = await withTimeout(describePollers(ctx.client, ctx.config.TEMPORAL_NAMESPACE, name), 3000, 'Temporal');
            const ok = p.workflowPollers.length + p.activityPollers.length > 0;
            checks[`taskQueue:${name}`] = ok ? { ok } : { ok, detail: `no worker is polling task queue "${name}"` };
          } catch (e) {
            checks[`taskQueue:${name}`] = { ok: false, detail: (e as Error).message };
          }
        }),
      );
    }
    const ready = Object.values(checks).every((c) => c.ok);
    const failed = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => name);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', failed, checks });
  });
  return r;
}
