import fs from 'node:fs';
import path from 'node:path';
import { ApiClient } from './api-client';

export interface GlobalOptions {
  url?: string;
  apiKey?: string;
  json?: boolean;
  requestTimeout: number;
}

/** What every command gets: the API client, the output mode and the two streams. */
export interface CliContext {
  api: ApiClient;
  json: boolean;
  baseUrl: string;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export const DEFAULT_URL = 'http://localhost:3000';

/** `npm start` keeps a local admin key in the data folder: used when the API is on this machine and no key is given. */
function localDevKey(baseUrl: string): string | undefined {
  let host: string;
  try {
    host = new URL(baseUrl).hostname;
  } catch {
    return undefined;
  }
  if (!['localhost', '127.0.0.1', '[::1]'].includes(host)) return undefined;
  try {
    return fs.readFileSync(path.resolve(process.env.DATA_DIR || '.data', 'dev-api-key'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function createContext(o: GlobalOptions): CliContext {
  const baseUrl = o.url ?? process.env.DURABLE_JOBS_URL ?? DEFAULT_URL;
  const apiKey = o.apiKey ?? process.env.DURABLE_JOBS_API_KEY ?? localDevKey(baseUrl);
  return {
    api: new ApiClient({ baseUrl, apiKey, timeoutMs: o.requestTimeout }),
    json: !!o.json,
    baseUrl,
    stdout: process.stdout,
    stderr: process.stderr,
  };
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
