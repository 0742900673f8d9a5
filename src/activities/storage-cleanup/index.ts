import type { ActivityDeps } from '../deps';
import { createDeleteExpiredJobFilesActivity } from './delete-expired-job-files';

// Activities of the `maintenance` task queue.
export function createMaintenanceActivities(deps: ActivityDeps) {
  return { ...createDeleteExpiredJobFilesActivity(deps) };
}
export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;
