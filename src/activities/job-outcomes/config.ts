import { z } from 'zod';
import type { PlatformConfig } from '../../config/env';
import { cron } from '../../config/schema';

export const jobOutcomesEnv = z.object({
  /** How often jobs that ended are recorded and failure alerts raised (cron, UTC). */
  JOB_OUTCOMES_SCHEDULE: cron('* * * * *'),
});

export type JobOutcomesConfig = PlatformConfig & z.output<typeof jobOutcomesEnv>;
