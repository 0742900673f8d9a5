import { ApplicationFailure } from '@temporalio/common';
import { ProviderHttpError } from '../../../net/provider-errors';
import { toProviderFailure } from '../../video-generation/provider-failure';

// Store errors as Temporal failures. Most follow the provider rules (429/5xx retry after
// Retry-After, other 4xx are permanent with the store's words); two common ones get their own
// type and say what to do.

export const STORE_FAILURE_TYPES = {
  duplicateBuild: 'StoreDuplicateBuildNumber',
  draftApp: 'PlayDraftApp',
  processingInvalid: 'StoreProcessingInvalid',
  reviewRejected: 'AppReviewRejected',
  notConfigured: 'StoreNotConfigured',
} as const;

const DRAFT_APP = /Only releases with status draft may be created on draft app/i;
const DUPLICATE = /DUPLICATE|has already been used|must be higher than the previously uploaded/i;

export type StoreName = 'App Store Connect' | 'Google Play';

export function toStoreFailure(err: unknown, store: StoreName, action: string, buildNumber?: number): unknown {
  if (err instanceof ProviderHttpError) {
    if (DRAFT_APP.test(err.message)) {
      return ApplicationFailure.create({
        type: STORE_FAILURE_TYPES.draftApp,
        message: `${store} ${action}: "${err.message}" The app has never been published: roll out its first release by hand in Play Console, or start this job with submitForReview: false to upload a draft release.`,
        nonRetryable: true,
      });
    }
    if ((err.status === 409 || err.status === 403) && DUPLICATE.test(`${err.code ?? ''} ${err.message}`)) {
      return ApplicationFailure.create({
        type: STORE_FAILURE_TYPES.duplicateBuild,
        message:
          `${store} ${action}: build number ${buildNumber ?? ''} was already used (${err.message}); start the job again with a higher buildNumber`.replace(
            '  ',
            ' ',
          ),
        nonRetryable: true,
        details: [{ status: err.status, code: err.code, storeMessage: err.message }],
      });
    }
  }
  return toProviderFailure(err, store, action);
}

/** Runs a store call and rethrows its error as a Temporal failure. */
export async function storeCall<T>(store: StoreName, action: string, fn: () => Promise<T>, buildNumber?: number): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toStoreFailure(e, store, action, buildNumber);
  }
}
