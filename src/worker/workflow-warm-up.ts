import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Worker, WorkflowBundleOption } from '@temporalio/worker';

// A fresh worker's first workflow task takes ~0.1 s more than the next ones: the workflow
// threads build their protobuf codecs and compile the SDK's and the job's code on it. Replaying
// the first task of a job's workflow from a made-up history does that work before the worker
// polls, on the same shared workflow threads, without touching the server.

/** The replay worker's name; the SDK names its task queue `warm-up-<n>`. */
const REPLAY_NAME = 'warm-up';

/** Whether a Temporal runtime log entry comes from the warm-up's replay worker (its start and stop are no news to an operator). */
export function isWarmUpLog(meta: Record<string, unknown> | undefined): boolean {
  return typeof meta?.taskQueue === 'string' && meta.taskQueue.startsWith(`${REPLAY_NAME}-`);
}

export interface WorkflowWarmUp {
  /** The workflow type (its function's name). */
  workflowType: string;
  /** Arguments of a job that starts the way real ones do; nothing it would do is run. */
  args: unknown[];
}

/**
 * Replays each warm-up's first workflow task with `workerClass` (one sharing the Workers'
 * workflow threads, so create those Workers first). Resolves with the failures: a warm-up that
 * cannot replay costs the first job its speed-up, never the worker its start.
 */
export async function warmUpWorkflows(
  workerClass: typeof Worker,
  options: { workflowBundle: WorkflowBundleOption; sinks?: Parameters<typeof Worker.runReplayHistories>[0]['sinks'] },
  warmUps: WorkflowWarmUp[],
): Promise<Error[]> {
  const failures: Error[] = [];
  if (!warmUps.length) return failures;
  const histories = warmUps.map((w) => ({ workflowId: `warm-up-${w.workflowType}`, history: firstTaskHistory(w) }));
  try {
    for await (const result of workerClass.runReplayHistories({ ...options, replayName: REPLAY_NAME }, histories)) {
      if (result.error) failures.push(result.error);
    }
  } catch (e) {
    failures.push(e instanceof Error ? e : new Error(String(e)));
  }
  return failures;
}

/** A history (JSON form, as `temporal workflow show --output json` prints it) that ends where a new workflow's first task starts. */
export function firstTaskHistory({ workflowType, args }: WorkflowWarmUp): { events: Record<string, unknown>[] } {
  const runId = randomUUID();
  const eventTime = new Date().toISOString();
  const taskQueue = { name: 'warm-up' };
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  const payloads = args.map((arg) => {
    const { metadata, data } = defaultPayloadConverter.toPayload(arg);
    return {
      metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, base64(v)])),
      data: base64(data ?? new Uint8Array()),
    };
  });
  return {
    events: [
      {
        eventId: '1',
        eventTime,
        eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
        workflowExecutionStartedEventAttributes: {
          workflowType: { name: workflowType },
          taskQueue,
          input: { payloads },
          workflowTaskTimeout: '10s',
          originalExecutionRunId: runId,
          firstExecutionRunId: runId,
          attempt: 1,
        },
      },
      {
        eventId: '2',
        eventTime,
        eventType: 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
        workflowTaskScheduledEventAttributes: { taskQueue, startToCloseTimeout: '10s', attempt: 1 },
      },
      {
        eventId: '3',
        eventTime,
        eventType: 'EVENT_TYPE_WORKFLOW_TASK_STARTED',
        workflowTaskStartedEventAttributes: { scheduledEventId: '2', identity: 'warm-up', requestId: randomUUID() },
      },
    ],
  };
}
