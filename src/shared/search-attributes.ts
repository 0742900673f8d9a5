import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Custom search attributes every job sets; registered on the dev server by `npm start`
// and the test harness, and on any other server by the worker at startup.
export const JOB_TYPE = defineSearchAttributeKey('JobType', SearchAttributeType.KEYWORD);
export const JOB_OWNER = defineSearchAttributeKey('JobOwner', SearchAttributeType.KEYWORD);
export const JOB_OUTCOME = defineSearchAttributeKey('JobOutcome', SearchAttributeType.KEYWORD);

export const CUSTOM_SEARCH_ATTRIBUTES = ['JobType', 'JobOwner', 'JobOutcome'] as const;
