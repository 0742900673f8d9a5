import { loadConfigOrExit } from '../config/env';
import { connectClient } from '../temporal/connection';
import { ensureJobSchedules } from './workers';

// `npm run schedules`: create or update every job type's schedules, then show what Temporal has.

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const client = await connectClient(config);
  try {
    for (const sync of await ensureJobSchedules(client, config)) {
      const d = await client.schedule.getHandle(sync.scheduleId).describe();
      const action =
        d.action.type === 'startWorkflow'
          ? `${d.action.workflowType} on task queue ${d.action.taskQueue}, input ${JSON.stringify(d.action.args)}`
          : d.action.type;
      console.log(
        [
          `schedule ${sync.scheduleId}: ${sync.change}`,
          `  cron:        ${String(d.action.type === 'startWorkflow' ? d.action.memo?.cron : '?')} (UTC)`,
          `  starts:      ${action}`,
          `  state:       ${d.state.paused ? 'PAUSED' : 'active'}${d.state.note ? ` (${d.state.note})` : ''}`,
          `  next runs:   ${
            d.info.nextActionTimes
              .slice(0, 3)
              .map((t) => t.toISOString())
              .join(', ') || 'none'
          }`,
          `  recent runs: ${
            d.info.recentActions
              .slice(-3)
              .map((r) => `${r.takenAt.toISOString()} ${r.action.workflow.workflowId}`)
              .join(', ') || 'none'
          }`,
        ].join('\n'),
      );
    }
  } finally {
    await client.connection.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
