import { Context } from '@temporalio/activity';
import { SlotRequest, SlotsState, VIDEO_SIGNALS, VIDEO_SLOTS_WORKFLOW } from '../../workflows/video-generation/contract';

export interface RequestSlotInput extends SlotRequest {
  semaphoreId: string;
  /** Queue the semaphore workflow runs on (the prefixed `video` queue). */
  taskQueue: string;
}

/**
 * Asks the semaphore workflow for a generation slot, starting it if it is not running.
 * Workflows cannot signal-with-start, so this small activity does it with the worker's client.
 * Repeating it is harmless: the semaphore ignores a holder it already knows.
 */
export function createRequestSlotActivity() {
  return {
    async requestVideoSlot(input: RequestSlotInput): Promise<void> {
      const initial: SlotsState = { limit: input.limit, holders: [], waiters: [] };
      await Context.current().client.workflow.signalWithStart(VIDEO_SLOTS_WORKFLOW, {
        workflowId: input.semaphoreId,
        taskQueue: input.taskQueue,
        args: [initial],
        signal: VIDEO_SIGNALS.acquire,
        signalArgs: [{ holderId: input.holderId, limit: input.limit } satisfies SlotRequest],
      });
    },
  };
}
