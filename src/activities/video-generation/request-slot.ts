import { Context } from '@temporalio/activity';
import { acquireVideoSlotSignal, SlotRequest, SlotsState } from '../../workflows/video-generation/contract';
import { videoSlots } from '../../workflows/video-generation/video-slots';

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
      await Context.current().client.workflow.signalWithStart(videoSlots, {
        workflowId: input.semaphoreId,
        taskQueue: input.taskQueue,
        args: [initial],
        signal: acquireVideoSlotSignal,
        signalArgs: [{ holderId: input.holderId, limit: input.limit } satisfies SlotRequest],
      });
    },
  };
}
