import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
const ET = temporal.api.enums.v1.EventType;
async function main() {
  const client = new Client({ connection: await Connection.connect({ address: '127.0.0.1:7399' }) });
  const h = await client.workflow.getHandle(process.argv[2]).fetchHistory();
  const t0 = Number(h.events![0].eventTime!.seconds) * 1000 + h.events![0].eventTime!.nanos! / 1e6;
  const ms = (e: temporal.api.history.v1.IHistoryEvent) => (Number(e.eventTime!.seconds) * 1000 + e.eventTime!.nanos! / 1e6 - t0).toFixed(0);
  for (const e of h.events!) {
    const t = ET[e.eventType!].replace('EVENT_TYPE_', '');
    let extra = '';
    if (e.activityTaskScheduledEventAttributes) extra = e.activityTaskScheduledEventAttributes.activityType!.name!;
    if (e.activityTaskStartedEventAttributes) extra = `attempt ${e.activityTaskStartedEventAttributes.attempt}`;
    if (e.workflowExecutionSignaledEventAttributes) extra = e.workflowExecutionSignaledEventAttributes.signalName!;
    if (/WORKFLOW_TASK/.test(t) && !/COMPLETED/.test(t)) continue;
    console.log(ms(e).padStart(7), t, extra);
  }
  await client.connection.close();
}
main();
