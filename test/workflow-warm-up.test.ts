import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { prefixedQueue } from '../src/shared/task-queues';
import { replayJobMetricsSinks } from '../src/worker/job-metrics';
import { JOBS } from '../src/worker/job-registry';
import { loadWorkflowBundle } from '../src/worker/workers';
import { firstTaskHistory, warmUpWorkflows } from '../src/worker/workflow-warm-up';
import { spawnWorkerProcess, startWorkers, testClient, testConfig, waitFor } from './harness/temporal';

// Workers replay a made-up first task of each job's workflow before they poll (see
// src/worker/workflow-warm-up.ts), so the first real job does not pay for compiling it.

const EventType = temporal.api.enums.v1.EventType;
const warmUps = JOBS.filter((j) => j.worker.warmUpArgs).map((j) => ({ job: j, workflowType: j.workflow.name, args: j.worker.warmUpArgs! }));

test('the made-up history starts a workflow the way the server does: started, task scheduled, task started', () => {
  const { events } = firstTaskHistory({ workflowType: 'bulkConversion', args: [{ a: 'é' }] });
  expect(events.map((e) => e.eventType)).toEqual([
    'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
    'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
    'EVENT_TYPE_WORKFLOW_TASK_STARTED',
  ]);
  const started = events[0].workflowExecutionStartedEventAttributes as { input: { payloads: { data: string }[] } };
  expect(JSON.parse(Buffer.from(started.input.payloads[0].data, 'base64').toString('utf8'))).toEqual({ a: 'é' });
});

test('every warm-up replays through the shared bundle without a replay error', async () => {
  expect(warmUps.map((w) => w.workflowType)).toContain('bulkConversion');
  const failures = await warmUpWorkflows(Worker, { workflowBundle: await loadWorkflowBundle(), sinks: replayJobMetricsSinks() }, warmUps);
  expect(failures).toEqual([]);
});

// A replay does not report a workflow task that throws, so the arguments are checked where it would show: a real first task.
test('every warm-up’s arguments get a real workflow through its first task', async () => {
  const config = testConfig();
  const client = await testClient(config);
  const workers = await startWorkers(config, { queues: [...new Set(warmUps.map((w) => w.job.worker.queues[0].name))] });
  try {
    for (const { job, workflowType, args } of warmUps) {
      const handle = await client.workflow.start(workflowType, {
        workflowId: `warm-up-check-${workflowType}-${Date.now()}`,
        taskQueue: prefixedQueue(config.TASK_QUEUE_PREFIX, job.worker.queues[0].name),
        args,
      });
      try {
        const events = await waitFor(async () => {
          const { events: all } = await handle.fetchHistory();
          return all?.some(
            (e) =>
              e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED || e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
          )
            ? all
            : undefined;
        }, `${workflowType}'s first workflow task`);
        expect(events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)).toEqual([]);
      } finally {
        await handle.terminate('warm-up check done');
      }
    }
  } finally {
    await workers.shutdown();
  }
});

test('a worker process logs its own Workers starting, and the warm-up’s replay worker only at debug', async () => {
  const config = testConfig();
  const worker = await spawnWorkerProcess(config, { WORKER_TASK_QUEUES: 'conversion' });
  const exited = new Promise((r) => worker.once('exit', r));
  try {
    const lines = () =>
      worker
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; taskQueue?: string; state?: string });
    const queue = prefixedQueue(config.TASK_QUEUE_PREFIX, 'conversion');
    await waitFor(
      () => lines().some((l) => l.msg === 'Worker state changed' && l.taskQueue === queue && l.state === 'RUNNING'),
      'its Worker',
    );
    expect(lines().some((l) => l.msg.includes('warmed up'))).toBe(true); // the warm-ups did run
    expect(lines().filter((l) => l.taskQueue?.startsWith('warm-up'))).toEqual([]);
  } finally {
    worker.kill('SIGTERM');
    await exited;
  }
});
