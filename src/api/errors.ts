import type { ErrorRequestHandler } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { ZodError } from 'zod';
import { BlobNotFoundError } from '../storage/blob-store';
import type { Logger } from '../observability/logger';

// The single place where errors become HTTP statuses and JSON bodies.

export interface FieldProblem {
  field: string;
  message: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: FieldProblem[],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (field: string, message: string) =>
  new HttpError(400, 'validation_failed', `${field}: ${message}`, [{ field, message }]);
export const notFound = (what: string) => new HttpError(404, 'not_found', `${what} not found`);

export function zodFields(err: ZodError): FieldProblem[] {
  return err.issues.flatMap((i) => {
    const at = (key?: PropertyKey) => [...i.path, ...(key === undefined ? [] : [key])].map(String).join('.') || 'body';
    // A strict object's custom error would otherwise name the whole object for a misspelt field.
    if (i.code === 'unrecognized_keys') return i.keys.map((key) => ({ field: at(key), message: 'is not a known field' }));
    return [{ field: at(), message: i.message }];
  });
}

function grpcCode(err: unknown): number | undefined {
  if (!(err instanceof Error && err.name === 'ServiceError')) return undefined;
  return (err as { code?: number; cause?: { code?: number } }).code ?? (err as { cause?: { code?: number } }).cause?.code;
}
const GRPC = { deadlineExceeded: 4, resourceExhausted: 8, unavailable: 14 } as const;

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const send = (status: number, body: Record<string, unknown>) => {
      if (!res.headersSent) res.status(status).json({ error: body });
      else res.end();
    };
    if (err instanceof HttpError) return send(err.status, { code: err.code, message: err.message, fields: err.fields });
    if (err instanceof ZodError) {
      const fields = zodFields(err);
      return send(400, { code: 'validation_failed', message: fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields });
    }
    // body-parser errors carry a `type` and an HTTP status.
    const bodyErr = err as { type?: string; status?: number; message?: string; limit?: number };
    if (bodyErr?.type === 'entity.parse.failed')
      return send(400, {
        code: 'malformed_json',
        message: 'body: request body is not valid JSON',
        fields: [{ field: 'body', message: 'not valid JSON' }],
      });
    if (bodyErr?.type === 'entity.too.large')
      return send(413, {
        code: 'body_too_large',
        message: `body: request body exceeds ${bodyErr.limit} bytes`,
        fields: [{ field: 'body', message: 'too large' }],
      });
    if (typeof bodyErr?.status === 'number' && bodyErr.status >= 400 && bodyErr.status < 500)
      return send(bodyErr.status, { code: bodyErr.type ?? 'bad_request', message: bodyErr.message ?? 'bad request' });
    if (err instanceof WorkflowNotFoundError || err instanceof BlobNotFoundError)
      return send(404, { code: 'not_found', message: 'not found' });
    if (err instanceof WorkflowExecutionAlreadyStartedError) return send(409, { code: 'conflict', message: 'job already exists' });
    if (grpcCode(err) === GRPC.resourceExhausted) {
      logger.warn('temporal refused the request as too large', { path: req.path, error: (err as Error).message });
      return send(413, {
        code: 'input_too_large',
        message: 'body: the job input is larger than Temporal accepts in one request (2 MB); send fewer or shorter items, or split the job',
        fields: [{ field: 'body', message: 'too large for one job' }],
      });
    }
    if (grpcCode(err) === GRPC.unavailable || grpcCode(err) === GRPC.deadlineExceeded) {
      logger.warn('temporal unavailable', { path: req.path, error: err });
      return send(503, { code: 'temporal_unavailable', message: 'the job service is temporarily unavailable; retry shortly' });
    }
    logger.error('unhandled error', { path: req.path, method: req.method, error: err, stack: (err as Error)?.stack });
    return send(500, { code: 'internal', message: 'internal error' });
  };
}
