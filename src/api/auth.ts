import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { ApiKeyEntry } from '../config/env';
import { HttpError } from './errors';

export interface Principal {
  owner: string;
  role: 'user' | 'admin';
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Bearer API keys; compared by digest in constant time so timing reveals nothing. */
export function authenticate(keys: ApiKeyEntry[]): RequestHandler {
  const table = keys.map((k) => ({ ...k, digest: digest(k.key) }));
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) {
      res.set('WWW-Authenticate', 'Bearer');
      return next(new HttpError(401, 'unauthorized', 'missing API key: send Authorization: Bearer <key>'));
    }
    const given = digest(m[1]);
    const entry = table.find((k) => timingSafeEqual(k.digest, given));
    if (!entry) {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      return next(new HttpError(401, 'unauthorized', 'unknown API key'));
    }
    res.locals.principal = { owner: entry.owner, role: entry.role } satisfies Principal;
    next();
  };
}

export const requireAdmin: RequestHandler = (_req, res, next) => {
  if (principalOf(res).role !== 'admin') return next(new HttpError(403, 'forbidden', 'this route needs an admin API key'));
  next();
};

export function principalOf(res: Response): Principal {
  return res.locals.principal as Principal;
}
