// Job priorities: Temporal priority keys, 1 (highest) … 5 (lowest), 3 when nothing says otherwise.
// Pure module.

export const HIGHEST_PRIORITY = 1;
export const LOWEST_PRIORITY = 5;
export const DEFAULT_PRIORITY = 3;

/** The env variable holding a job type's default priority: `JOB_PRIORITY_BULK_CONVERSION` for `bulk-conversion`. */
export function priorityVariable(type: string): string {
  return `JOB_PRIORITY_${type.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}
