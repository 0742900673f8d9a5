import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { acquireVideoSlotSignal, releaseVideoSlotSignal, SlotsState, videoSlotGrantedSignal, videoSlotsQuery } from './contract';

// A counting semaphore for provider generations, shared by every worker: job workflows ask
// for a slot (signal-with-start), wait for the grant signal, and release the slot when their
// generation has ended. One instance per task-queue prefix, so tests never share one.

/** How often, while jobs wait, holders are checked for having ended without releasing (terminated, reset…). */
const HOLDER_CHECK_MS = 30_000;
/** Stop when nobody has held or wanted a slot for this long; the next request starts a new run. */
const IDLE_EXIT_MS = 10 * 60_000;
const MAX_HISTORY_EVENTS = 5_000;

export async function videoSlots(initial: SlotsState): Promise<void> {
  const state: SlotsState = { limit: initial.limit, holders: [...initial.holders], waiters: [...initial.waiters] };
  const semaphoreId = workflowInfo().workflowId;
  let changed = true;

  setHandler(acquireVideoSlotSignal, ({ holderId, limit }) => {
    state.limit = Math.max(1, limit);
    if (!state.holders.includes(holderId) && !state.waiters.includes(holderId)) state.waiters.push(holderId);
    changed = true;
  });
  setHandler(releaseVideoSlotSignal, ({ holderId }) => {
    state.holders = state.holders.filter((h) => h !== holderId);
    state.waiters = state.waiters.filter((h) => h !== holderId);
    changed = true;
  });
  setHandler(videoSlotsQuery, () => state);

  /** Signals a holder; false when its workflow has ended (the slot is then free again). */
  const notify = async (holderId: string): Promise<boolean> => {
    try {
      await getExternalWorkflowHandle(holderId).signal(videoSlotGrantedSignal, { semaphoreId });
      return true;
    } catch (e) {
      log.warn('video slot holder is gone; freeing its slot', { holderId, error: (e as Error).message });
      state.holders = state.holders.filter((h) => h !== holderId);
      changed = true;
      return false;
    }
  };

  for (;;) {
    changed = false;
    while (state.holders.length < state.limit && state.waiters.length > 0) {
      const next = state.waiters.shift()!;
      state.holders.push(next);
      await notify(next);
    }
    const idle = state.holders.length === 0 && state.waiters.length === 0;
    const wakeAfter = idle ? IDLE_EXIT_MS : HOLDER_CHECK_MS;
    const woke = await condition(() => changed, wakeAfter);
    if (!woke && idle) break;
    if (!woke && state.waiters.length > 0) {
      // Jobs are waiting and nothing moved: make sure every holder is still alive.
      for (const holder of [...state.holders]) await notify(holder);
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof videoSlots>(state);
    }
  }
}
