import {
  Client,
  ScheduleAlreadyRunning,
  ScheduleDescription,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  ScheduleUpdateOptions,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';

// Periodic jobs as Temporal Schedules: visible, pausable and triggerable in Temporal Web and the
// CLI. Workers serving a job's queue make sure its schedules exist at startup (so does
// `npm run schedules`); what operators changed by hand (pause, note) is left alone.

const CATCHUP_WINDOW_MS = 86_400_000;

export interface ScheduleSync {
  scheduleId: string;
  change: 'created' | 'updated' | 'unchanged';
  paused: boolean;
}

/** A schedule a job type wants: started on `cron` (UTC), one run at a time. */
export interface DesiredSchedule {
  scheduleId: string;
  cron: string;
  workflowType: Workflow;
  taskQueue: string;
  args: unknown[];
}

// The server stores a cron string as calendar specs and never returns it, so the cron we asked
// for travels in the started workflows' memo, where the next startup can compare it.
function scheduleParts(d: DesiredSchedule): Pick<ScheduleUpdateOptions, 'spec' | 'action' | 'policies'> {
  return {
    spec: { cronExpressions: [d.cron] },
    action: {
      type: 'startWorkflow',
      workflowType: d.workflowType,
      workflowId: d.scheduleId,
      taskQueue: d.taskQueue,
      args: d.args,
      memo: { cron: d.cron },
    },
    // A run still going when the next is due means the store is big: let it finish, skip the new one.
    // After downtime, one catch-up run is enough; the default window (a year) would replay them all.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW_MS },
  };
}

function isUpToDate(current: ScheduleDescription, d: DesiredSchedule): boolean {
  const a = current.action;
  return (
    a.type === 'startWorkflow' &&
    a.workflowType === d.workflowType.name &&
    a.taskQueue === d.taskQueue &&
    a.memo?.cron === d.cron &&
    JSON.stringify(a.args) === JSON.stringify(d.args) &&
    current.policies.overlap === ScheduleOverlapPolicy.SKIP &&
    current.policies.catchupWindow === CATCHUP_WINDOW_MS
  );
}

async function ensureSchedule(client: Client, d: DesiredSchedule): Promise<ScheduleSync> {
  const handle = client.schedule.getHandle(d.scheduleId);
  let current: ScheduleDescription;
  try {
    current = await handle.describe();
  } catch (e) {
    if (!(e instanceof ScheduleNotFoundError)) throw e;
    try {
      await client.schedule.create({ scheduleId: d.scheduleId, ...scheduleParts(d), state: { note: 'created by durable-jobs' } });
      return { scheduleId: d.scheduleId, change: 'created', paused: false };
    } catch (err) {
      // Another worker created it a moment ago: carry on as if it had been there.
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      current = await handle.describe();
    }
  }
  if (isUpToDate(current, d)) return { scheduleId: d.scheduleId, change: 'unchanged', paused: current.state.paused };
  // Keeps `state` (paused or not, the operator's note) from the current schedule.
  const parts = scheduleParts(d);
  await handle.update((previous) => ({ ...previous, ...parts, policies: { ...previous.policies, ...parts.policies } }));
  return { scheduleId: d.scheduleId, change: 'updated', paused: current.state.paused };
}

/** Creates the schedules when absent and brings their timing and input up to date. */
export async function ensureSchedules(client: Client, desired: DesiredSchedule[]): Promise<ScheduleSync[]> {
  const synced: ScheduleSync[] = [];
  for (const d of desired) synced.push(await ensureSchedule(client, d));
  return synced;
}
