import type { ActivityDeps } from '../deps';
import { createChunkActivities } from './chunk';
import { createFinalizeActivities } from './finalize';
import { createManifestActivities } from './manifest';

/** Every activity of the `conversion` task queue. */
export function createConversionActivities(deps: ActivityDeps) {
  return {
    ...createManifestActivities(deps),
    ...createChunkActivities(deps),
    ...createFinalizeActivities(deps),
  };
}

export type ConversionActivities = ReturnType<typeof createConversionActivities>;
