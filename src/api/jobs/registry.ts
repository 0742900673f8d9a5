import type { JobType } from '../../shared/jobs';
import { bulkConversionApi } from './bulk-conversion';
import { videoGenerationApi } from './video-generation';
import type { JobTypeApi } from './job-types';

// Every job type's API part. Add a job type by writing src/api/jobs/<type>.ts and listing it here.
export const JOB_TYPE_APIS: JobTypeApi[] = [bulkConversionApi, videoGenerationApi];

export function jobTypeApi(type: JobType): JobTypeApi | undefined {
  return JOB_TYPE_APIS.find((j) => j.type === type);
}
