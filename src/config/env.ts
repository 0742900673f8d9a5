import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseDuration, parseDurationList } from '../shared/duration';
import { parseQueueList, TaskQueueBase } from '../shared/task-queues';
import { assertCron } from './cron';

// One zod-validated view of the environment. Every process reads config through here,
// so a bad value stops startup with a message naming the variable.

const optionalString = z.string().trim().min(1).optional().catch(undefined);
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      try {
        return parseDuration(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    });
const int = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const url = (fallback: string) => z.url().default(fallback);
const optionalUrl = () => z.url().optional();
const byteSize = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const m = /^\s*(\d+)\s*(b|kb|mb|gb)?\s*$/i.exec(v);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `"${v}" is not a size (examples: 512kb, 1mb)` });
        return z.NEVER;
      }
      const mult = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
      return Number(m[1]) * mult;
    });

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
    for (const raw of v.split(',').map((s) => s.trim()).filter(Boolean)) {
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

const queueList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    try {
      return parseQueueList(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

const hostList = z
  .string()
  .optional()
  .transform((v) => (v ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));

const webhookSecrets = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (!v || !v.trim()) return undefined;
    const secrets = v.trim().split(/\s+/);
    const bad = secrets.find((s) => !/^whsec_[A-Za-z0-9+/=]+$/.test(s));
    if (bad) {
      ctx.addIssue({ code: 'custom', message: 'each secret must look like whsec_<base64>' });
      return z.NEVER;
    }
    return secrets;
  });

const retrySchedule = z
  .string()
  .default('0s,5s,5m,30m,2h,5h,10h,14h,20h,24h')
  .transform((v, ctx) => {
    try {
      return parseDurationList(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

const cron = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      try {
        assertCron(v);
        return v.trim();
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    });

export const envSchema = z.object({
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
  TASK_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only').default(''),

  WORKER_TASK_QUEUES: queueList,
  WORKER_SHUTDOWN_GRACE: duration('30s'),
  /** A prebuilt workflow bundle (`npm run bundle:workflows`); unset → each worker bundles at startup. */
  WORKFLOW_BUNDLE_PATH: optionalString,
  METRICS_BIND_ADDRESS: optionalString,

  PORT: int(3000, 0, 65535),
  API_PUBLIC_URL: optionalUrl(),
  API_KEYS: apiKeys,
  BODY_LIMIT: byteSize('1mb'),

  OUTBOUND_ALLOW_HOSTS: hostList,
  FETCH_TIMEOUT: duration('15s'),
  FETCH_CONNECT_TIMEOUT: duration('5s'),
  FETCH_MAX_BYTES: byteSize('10mb'),
  /** Attempts per URL inside a bulk conversion chunk (transient failures only). */
  CONVERSION_URL_ATTEMPTS: int(3, 1, 10),
  /** First backoff between a URL's attempts; doubles each time. */
  CONVERSION_RETRY_INTERVAL: duration('1s'),
  /** Request body limit of POST /api/v1/jobs/bulk-conversions (100,000 URLs); other routes keep BODY_LIMIT. */
  BULK_CONVERSION_BODY_LIMIT: byteSize('16mb'),

  WEBHOOK_SECRET: webhookSecrets,
  WEBHOOK_RETRY_SCHEDULE: retrySchedule,
  WEBHOOK_TIMEOUT: duration('15s'),
  ALERT_WEBHOOK_URL: optionalUrl(),

  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: url('https://api.openai.com/v1'),
  GEMINI_API_KEY: optionalString,
  GEMINI_BASE_URL: url('https://generativelanguage.googleapis.com/v1beta'),
  EMULATOR_URL: optionalUrl(),
  EMULATOR_PORT: int(4010, 0, 65535),
  EMULATOR_GENERATION_TIME: duration('20s'),
  VIDEO_MAX_IN_FLIGHT: int(2, 1, 100),
  VIDEO_STARTS_PER_MINUTE: int(10, 1, 10_000),
  VIDEO_POLL_DEADLINE: duration('10m'),
  VIDEO_POLL_INTERVAL: duration('5s'),
  VIDEO_POLL_MAX_INTERVAL: duration('60s'),

  /** When the storage-cleanup schedule runs (cron, UTC). */
  CLEANUP_SCHEDULE: cron('0 3 * * *'),
  /** Job files are deleted once the newest file of the job is older than this. */
  ARTIFACT_RETENTION: duration('30d').refine((ms) => ms >= 3_600_000, 'must be at least 1h'),

  /** Where job files live: `fs` (DATA_DIR, one host) or `s3` (any number of hosts). */
  BLOB_STORE: z.enum(['fs', 's3']).default('fs'),
  S3_BUCKET: z.string().trim().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'not an S3 bucket name (3-63 lowercase letters, digits, "." and "-")').optional(),
  S3_PREFIX: z.string().trim().regex(/^[^\\\0]*$/, 'no backslashes').default(''),
  /** For S3-compatible servers (MinIO, R2, Ceph); unset for AWS. */
  S3_ENDPOINT: optionalUrl(),
  S3_REGION: optionalString,
  /** bucket-in-path URLs; defaults to true when S3_ENDPOINT is set (MinIO needs it). */
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false', '1', '0', 'yes', 'no']).optional().transform((v) => (v === undefined ? undefined : v === 'true' || v === '1' || v === 'yes')),
  /** Downloads answer 302 to a presigned S3 URL instead of streaming through the API. */
  S3_PRESIGN_DOWNLOADS: bool(false),
  S3_PRESIGN_EXPIRY: duration('5m').refine((ms) => ms >= 1000 && ms <= 7 * 86_400_000, 'must be between 1s and 7d'),
}).superRefine((env, ctx) => {
  if (env.BLOB_STORE === 's3' && !env.S3_BUCKET) ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'required when BLOB_STORE=s3' });
  if (env.S3_PRESIGN_DOWNLOADS && env.BLOB_STORE !== 's3') ctx.addIssue({ code: 'custom', path: ['S3_PRESIGN_DOWNLOADS'], message: 'needs BLOB_STORE=s3' });
});

export type RawEnv = z.input<typeof envSchema>;
type Parsed = z.output<typeof envSchema>;

export interface AppConfig extends Omit<Parsed, 'WORKER_TASK_QUEUES'> {
  WORKER_TASK_QUEUES: TaskQueueBase[];
  /** DATA_DIR resolved to an absolute path. */
  dataDir: string;
  /** Base URL clients use to reach the API (download links, status URLs). */
  publicUrl: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Empty strings mean "unset" so `FOO=` in a .env file falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })),
    );
  }
  const c = parsed.data;
  return {
    ...c,
    WORKER_TASK_QUEUES: c.WORKER_TASK_QUEUES,
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
