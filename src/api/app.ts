import express, { Express } from 'express';
import { adminRoutes } from './admin';
import { authenticate, requireAdmin } from './auth';
import type { ApiContext } from './context';
import { errorHandler, HttpError } from './errors';
import { healthRoutes } from './health';
import { createApiMetrics } from './metrics';
import { commonJobRoutes } from './jobs/common-routes';
import { startRouter } from './jobs/start-job';
import { JOBS } from '../worker/job-registry';
import { openApiDocument } from './openapi';

export function createApp(ctx: ApiContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const metrics = createApiMetrics(ctx);
  app.use(metrics.measureRequests);
  app.get('/metrics', metrics.serve);
  app.use(healthRoutes(ctx));
  const jobApis = JOBS.flatMap((j) => (j.api ? [j.api] : []));
  const openapi = openApiDocument(JOBS, ctx.config.publicUrl);
  app.get('/api/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  const keys = ctx.config.API_KEYS ?? [];
  const api = express.Router();
  api.use(authenticate(keys));
  const jsonBody = (limit: number) => express.json({ limit, strict: true, type: ['application/json', 'application/*+json'] });
  // Start routes that take long lists parse their body first with their own limit; every other route keeps BODY_LIMIT.
  for (const jobApi of jobApis) if (jobApi.largeBody) api.post(`/v1/jobs${jobApi.largeBody.path}`, jsonBody(jobApi.largeBody.limit(ctx)));
  api.use(jsonBody(ctx.config.BODY_LIMIT));
  api.use('/admin', requireAdmin, adminRoutes(ctx));
  for (const jobApi of jobApis) {
    if (jobApi.adminRouter) api.use('/admin', requireAdmin, jobApi.adminRouter(ctx));
    if (jobApi.startRoute) api.use('/v1/jobs', startRouter(ctx, jobApi.startRoute));
    if (jobApi.router) api.use('/v1/jobs', jobApi.router(ctx));
  }
  api.use('/v1/jobs', commonJobRoutes(ctx));
  app.use('/api', api);

  app.use((req, _res, next) => next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(ctx.logger));
  return app;
}
