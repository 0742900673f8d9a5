import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { VideoActivities, VideoStartActivities } from '../../activities/video-generation';
import type { JobOutcome } from '../../shared/jobs';
import { siblingQueue } from '../../shared/task-queues';
import { applicationFailureType, endJobOnError, recordJobEnd } from '../job-end';
import { pollUntil } from '../poll';
import {
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_POLLING,
  PollingOptions,
  pollDelayMs,
  progressQuery,
  ProviderJobState,
  releaseVideoSlotSignal,
  VIDEO_QUEUES,
  VideoGenerationInput,
  VideoGenerationResult,
  VideoProgress,
  videoSlotGrantedSignal,
  videoSlotsWorkflowId,
} from './contract';

// A video generation job: wait for a provider slot, start the generation (idempotently, on the
// rate-limited start queue), poll it on durable timers with growing gaps until it finishes or
// the deadline passes, copy the video into blob storage, and report. A restarted worker picks
// up the same provider job from history; cancelling the job stops the generation at the provider.

/** How long to wait for a slot before asking again (covers a semaphore that was terminated). */
const SLOT_REQUEST_REPEAT_MS = 5 * 60_000;

const slots = proxyActivities<Pick<VideoActivities, 'requestVideoSlot'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});
const control = proxyActivities<Pick<VideoActivities, 'cancelVideoGeneration'>>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', maximumAttempts: 5 },
});
const transfer = proxyActivities<Pick<VideoActivities, 'downloadVideo'>>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 5 },
});
const polls = proxyActivities<Pick<VideoActivities, 'videoGenerationStatus'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 4 },
});

class GenerationFailed extends Error {}

export async function videoGeneration(input: VideoGenerationInput): Promise<VideoGenerationResult> {
  const ownQueue = workflowInfo().taskQueue;
  const semaphoreId = videoSlotsWorkflowId(ownQueue);
  const polling: PollingOptions = { ...DEFAULT_POLLING, ...input.polling };
  const starts = proxyActivities<VideoStartActivities>({
    taskQueue: siblingQueue(ownQueue, VIDEO_QUEUES.video, VIDEO_QUEUES.starts),
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 8 },
  });

  const progress: VideoProgress = { phase: 'waiting_for_slot', percent: 0, provider: input.provider, polls: 0 };
  setHandler(progressQuery, () => progress);
  let granted = false;
  setHandler(videoSlotGrantedSignal, () => void (granted = true));

  let slot: 'none' | 'requested' | 'held' = 'none';
  let providerJobId: string | undefined;
  let generationRunning = false;
  const providerJob = () => ({ provider: input.provider, providerJobId: providerJobId! });

  const releaseSlot = async () => {
    if (slot === 'none') return;
    slot = 'none';
    await getExternalWorkflowHandle(semaphoreId)
      .signal(releaseVideoSlotSignal, { holderId: input.jobId })
      .catch((e: Error) => log.warn('could not release the video slot', { error: e.message }));
  };
  const stopAtProvider = async () => {
    if (!providerJobId || !generationRunning) return;
    generationRunning = false;
    await control
      .cancelVideoGeneration(providerJob())
      .catch((e: Error) => log.warn('could not stop the generation at the provider', { error: e.message }));
  };
  const finish = (outcome: JobOutcome, payload: Record<string, unknown>) =>
    recordJobEnd({
      fromQueue: VIDEO_QUEUES.video,
      jobId: input.jobId,
      webhookUrl: input.webhookUrl,
      outcome,
      data: { type: 'video-generation', ...payload },
    });

  try {
    // 1. A slot: at most maxInFlight generations run at the providers, across all workers.
    slot = 'requested';
    for (;;) {
      await slots.requestVideoSlot({
        semaphoreId,
        taskQueue: ownQueue,
        holderId: input.jobId,
        limit: input.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      });
      if (await condition(() => granted, SLOT_REQUEST_REPEAT_MS)) break;
    }
    slot = 'held';

    // 2. Start. Not cancellable midway: its result (the provider job) must be known to clean up.
    progress.phase = 'starting';
    const started = await CancellationScope.nonCancellable(() =>
      starts.startVideoGeneration({ jobId: input.jobId, provider: input.provider, request: input.request, idempotencyKey: input.jobId }),
    );
    providerJobId = started.providerJobId;
    generationRunning = true;
    Object.assign(progress, { phase: 'generating', providerJobId });
    note(progress, started.state);

    // 3. Poll on durable timers: interval × 1.5 per poll, capped, until done or the deadline.
    const final = await pollUntilDone(started.state, polling, progress, () => polls.videoGenerationStatus(providerJob()));
    generationRunning = false;
    await releaseSlot();
    if (final.status === 'failed')
      throw new GenerationFailed(`${input.provider} could not generate the video: ${final.error?.message ?? 'no reason given'}`);

    // 4. Copy the video into blob storage.
    progress.phase = 'downloading';
    const stored = await transfer.downloadVideo({ ...providerJob(), jobId: input.jobId });

    progress.phase = 'finishing';
    const result: VideoGenerationResult = {
      status: 'completed',
      provider: input.provider,
      providerJobId,
      model: input.request.model,
      seconds: input.request.seconds,
      bytes: stored.bytes,
      file: stored.file,
      downloadUrl: stored.downloadUrl,
    };
    await finish('completed', { result });
    progress.phase = 'done';
    return result;
  } catch (err) {
    return endJobOnError(err, {
      cleanUp: async () => {
        await stopAtProvider();
        await releaseSlot();
      },
      record: (outcome, error) => finish(outcome, outcome === 'failed' ? { error, providerJobId } : { providerJobId }),
      failureType: (e) => applicationFailureType(e) ?? (e instanceof GenerationFailed ? 'VideoGenerationFailed' : 'VideoJobFailed'),
    });
  }
}

const isFinal = (state: ProviderJobState) => state.status === 'completed' || state.status === 'failed';

async function pollUntilDone(
  first: ProviderJobState,
  polling: PollingOptions,
  progress: VideoProgress,
  check: () => Promise<ProviderJobState>,
): Promise<ProviderJobState> {
  let state = first;
  if (isFinal(state)) return state;
  return pollUntil({
    deadlineMs: polling.deadlineMs,
    delayMs: (n) => pollDelayMs(n, polling),
    what: 'status',
    check: async () => {
      state = await check();
      return isFinal(state) ? state : undefined;
    },
    afterPoll: () => {
      progress.polls++;
      note(progress, state);
    },
    expired: () =>
      ApplicationFailure.create({
        type: 'VideoDeadlineExceeded',
        message: `the generation did not finish within ${Math.round(polling.deadlineMs / 1000)} s (last provider status: ${state.status}${state.percent !== undefined ? `, ${state.percent}%` : ''})`,
        nonRetryable: true,
      }),
  });
}

function note(progress: VideoProgress, state: ProviderJobState): void {
  progress.providerStatus = state.status;
  if (state.percent !== undefined) progress.percent = state.percent;
  if (state.status === 'completed') progress.percent = 100;
}
