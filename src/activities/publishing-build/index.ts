import type { ActivityDeps } from '../deps';
import { createBuildActivities } from './build-artifact';
import { createStoreActivities } from './store-activities';

export { createBuildActivities, createStoreActivities };
export type { BuildArtifactInput } from './build-artifact';
export type { AppStoreUploadInput, AppReviewInput, PlayPublishInput, ProcessingOutcome } from './store-activities';

export type BuildActivities = ReturnType<typeof createBuildActivities>;
export type StoreActivities = ReturnType<typeof createStoreActivities>;
