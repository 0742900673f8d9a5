import { Router } from 'express';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { StorageCleanupConfig } from '../../activities/storage-cleanup/config';
import { storageCleanupScheduleId } from '../../workflows/storage-cleanup/contract';
import type { ApiContext } from '../context';
import { notFound } from '../errors';
import type { JobTypeApi } from './job-types';

// The storage-cleanup schedule as operators see it: its state and next runs, and a run on demand.

function scheduleHandle(ctx: ApiContext<StorageCleanupConfig>) {
  return ctx.client.schedule.getHandle(storageCleanupScheduleId(ctx.config.TASK_QUEUE_PREFIX));
}

async function describeOr404(ctx: ApiContext<StorageCleanupConfig>) {
  try {
    return await scheduleHandle(ctx).describe();
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) throw notFound('schedule (no worker serving the maintenance queue has started yet)');
    throw e;
  }
}

export const storageCleanupApi: JobTypeApi<StorageCleanupConfig> = {
  adminRouter(ctx) {
    const r = Router();
    r.get('/schedules/storage-cleanup', async (_req, res) => {
      const d = await describeOr404(ctx);
      res.json({
        scheduleId: d.scheduleId,
        cron: d.action.type === 'startWorkflow' ? d.action.memo?.cron : undefined,
        retention: ctx.config.ARTIFACT_RETENTION,
        paused: d.state.paused,
        note: d.state.note,
        nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
        recentRuns: d.info.recentActions.slice(-5).map((a) => ({ at: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId })),
      });
    });
    r.post('/schedules/storage-cleanup/trigger', async (_req, res) => {
      await describeOr404(ctx);
      await scheduleHandle(ctx).trigger();
      res.status(202).json({ scheduleId: storageCleanupScheduleId(ctx.config.TASK_QUEUE_PREFIX), status: 'triggered' });
    });
    return r;
  },
};
