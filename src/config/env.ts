import fs from 'node:fs';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { ALL_TASK_QUEUES, JOB_ENV, JOB_PRIORITY_ENV } from '../worker/job-registry';
import { bool, byteSize, duration, durationList, hostList, int, list, optionalString, optionalUrl, url } from './schema';

// One zod-validated view of the environment: the platform's variables here, each job type's in its
// src/activities/<job>/config.ts, merged through the job registry. Every process reads config
// through here, so a bad value stops startup with a message naming the variable.

export interface ApiKeyEntry {
  owner: string;
  role: 'user' | 'admin';
  key: string;
}

const apiKeys = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (!v || !v.trim()) return undefined;
    const entries: ApiKeyEntry[] = [];
    for (const raw of v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [owner, role, ...rest] = raw.split(':');
      const key = rest.join(':');
      if (!owner || !key || (role !== 'user' && role !== 'admin')) {
        ctx.addIssue({ code: 'custom', message: `entry "${raw.split(':')[0]}:…" must be owner:role:key with role user or admin` });
        return z.NEVER;
      }
      if (key.length < 16) {
        ctx.addIssue({ code: 'custom', message: `key for owner "${owner}" must be at least 16 characters` });
        return z.NEVER;
      }
      entries.push({ owner, role, key });
    }
    return entries;
  });

/** Standard Webhooks secrets carry 24 to 64 random bytes; shorter keys are guessable. */
const MIN_WEBHOOK_KEY_BYTES = 24;

const webhookSecrets = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (!v || !v.trim()) return undefined;
    const secrets = v.trim().split(/\s+/);
    for (const [i, s] of secrets.entries()) {
      const problem = webhookSecretProblem(s);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: `secret ${i + 1} of ${secrets.length} ${problem}` });
        return z.NEVER;
      }
    }
    return secrets;
  });

function webhookSecretProblem(secret: string): string | undefined {
  const base64 = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret)?.[1];
  if (!base64) return 'must look like whsec_<base64>';
  const key = Buffer.from(base64, 'base64');
  // Strict base64: what decodes must encode back to the same text (padding aside).
  if (key.toString('base64').replace(/=+$/, '') !== base64.replace(/=+$/, '')) return 'is not valid base64 after whsec_';
  try {
    new Webhook(secret); // the signer decodes it the same way, so a secret that passes here signs
  } catch (e) {
    return `is not usable: ${(e as Error).message}`;
  }
  if (key.length < MIN_WEBHOOK_KEY_BYTES)
    return `decodes to ${key.length} bytes; use at least ${MIN_WEBHOOK_KEY_BYTES} random bytes (whsec_ + base64 of 32 random bytes is usual)`;
  return undefined;
}

export const platformEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  DATA_DIR: z.string().default('.data'),

  TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: bool(false),
  TEMPORAL_TLS_CLIENT_CERT_PATH: optionalString,
  TEMPORAL_TLS_CLIENT_KEY_PATH: optionalString,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  TEMPORAL_UI_URL: url('http://localhost:8233'),
  TEMPORAL_DEV_SERVER_PORT: int(7233, 1, 65535),
  TEMPORAL_UI_PORT: int(8233, 1, 65535),
  TEMPORAL_DB_FILE: z.string().default('.temporal/dev.db'),
  TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only')
    .default(''),

  WORKER_TASK_QUEUES: list(),
  WORKER_SHUTDOWN_GRACE: duration('30s'),
  /** A prebuilt workflow bundle (`npm run bundle:workflows`); unset → each worker bundles at startup. */
  WORKFLOW_BUNDLE_PATH: optionalString,
  METRICS_BIND_ADDRESS: z
    .string()
    .trim()
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[^:\s]*):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464')
    .optional(),

  PORT: int(3000, 0, 65535),
  API_PUBLIC_URL: optionalUrl(),
  API_KEYS: apiKeys,
  BODY_LIMIT: byteSize('1mb'),

  OUTBOUND_ALLOW_HOSTS: hostList(),
  FETCH_TIMEOUT: duration('15s'),
  FETCH_CONNECT_TIMEOUT: duration('5s'),
  FETCH_MAX_BYTES: byteSize('10mb'),

  WEBHOOK_SECRET: webhookSecrets,
  WEBHOOK_RETRY_SCHEDULE: durationList('0s,5s,5m,30m,2h,5h,10h,14h,20h,24h'),
  WEBHOOK_TIMEOUT: duration('15s'),
  ALERT_WEBHOOK_URL: optionalUrl(),
  /** Failure-rate alerts: more than ALERT_FAILURE_THRESHOLD failed jobs of one type within one ALERT_WINDOW. */
  ALERT_WINDOW: duration('1h').refine((ms) => ms >= 60_000, 'must be at least 1m'),
  ALERT_FAILURE_THRESHOLD: int(10, 1, 1_000_000),

  /** How long Temporal keeps closed jobs (the dev server's namespace retention); job records outlive it. */
  JOB_RETENTION: duration('7d').refine((ms) => ms >= 3_600_000, 'must be at least 1h'),
  /** Task queues /health/ready requires a polling worker on (default: every queue). */
  READY_REQUIRED_QUEUES: list().superRefine((names, ctx) => {
    const unknown = names.filter((n) => !ALL_TASK_QUEUES.includes(n));
    if (unknown.length)
      ctx.addIssue({ code: 'custom', message: `unknown task queue(s) ${unknown.join(', ')}; known: ${ALL_TASK_QUEUES.join(', ')}` });
  }),
  /** How long /health/ready reuses its Temporal checks. */
  READY_CACHE: duration('5s'),

  /** Where job files live: `fs` (DATA_DIR, one host) or `s3` (any number of hosts). */
  BLOB_STORE: z.enum(['fs', 's3']).default('fs'),
  S3_BUCKET: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'not an S3 bucket name (3-63 lowercase letters, digits, "." and "-")')
    .optional(),
  S3_PREFIX: z
    .string()
    .trim()
    .regex(/^[^\\\0]*$/, 'no backslashes')
    .default(''),
  /** For S3-compatible servers (MinIO, R2, Ceph); unset for AWS. */
  S3_ENDPOINT: optionalUrl(),
  S3_REGION: optionalString,
  /** bucket-in-path URLs; defaults to true when S3_ENDPOINT is set (MinIO needs it). */
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1' || v === 'yes')),
  /** Downloads answer 302 to a presigned S3 URL instead of streaming through the API. */
  S3_PRESIGN_DOWNLOADS: bool(false),
  S3_PRESIGN_EXPIRY: duration('5m').refine((ms) => ms >= 1000 && ms <= 7 * 86_400_000, 'must be between 1s and 7d'),
});

type PlatformParsed = z.output<typeof platformEnvSchema>;

export interface PlatformConfig extends PlatformParsed {
  /** DATA_DIR resolved to an absolute path. */
  dataDir: string;
  /** Base URL clients use to reach the API (download links, status URLs). */
  publicUrl: string;
}

/** Every variable: the platform's and every registered job type's. */
export type AppConfig = PlatformConfig & z.output<typeof JOB_ENV>;

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Empty strings mean "unset" so `FOO=` in a .env file falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = platformEnvSchema
    .extend(JOB_ENV.shape)
    .extend(JOB_PRIORITY_ENV.shape)
    .superRefine((e, ctx) => {
      if (e.BLOB_STORE === 's3' && !e.S3_BUCKET)
        ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'required when BLOB_STORE=s3' });
      if (e.S3_PRESIGN_DOWNLOADS && e.BLOB_STORE !== 's3')
        ctx.addIssue({ code: 'custom', path: ['S3_PRESIGN_DOWNLOADS'], message: 'needs BLOB_STORE=s3' });
    })
    .safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })));
  }
  const c = parsed.data as z.output<typeof platformEnvSchema> & z.output<typeof JOB_ENV>;
  return {
    ...c,
    dataDir: path.resolve(c.DATA_DIR),
    publicUrl: (c.API_PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, ''),
  };
}

/** For process entry points: print the problem and exit instead of a stack trace. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // A .env file in the working directory fills in variables the environment does not set.
  if (env === process.env && fs.existsSync('.env')) process.loadEnvFile('.env');
  try {
    return loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
}
