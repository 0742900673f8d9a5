import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BucketAlreadyOwnedByYou, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { stopChild } from './dev-server';
import { freePort } from './free-port';
import { provisionMinio } from './provision-minio';
import { waitForHttpOk } from './supervisor';

// A MinIO server on loopback with one bucket: the S3 store of the tests and of local multi-host runs.

export interface MinioOptions {
  /** Kept across runs when given; otherwise a temp folder removed on stop. */
  dataDir?: string;
  port?: number;
  bucket?: string;
  /** Generated when absent. */
  accessKey?: string;
  secretKey?: string;
  /** MinIO's own output; ignored by default. */
  stdio?: 'inherit' | 'ignore';
  log?: (msg: string) => void;
}

export interface RunningMinio {
  endpoint: string;
  bucket: string;
  pid?: number;
  /** What a worker or API needs to use this bucket (BLOB_STORE, S3_*, AWS credentials). */
  env: Record<string, string>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export async function startMinio(o: MinioOptions = {}): Promise<RunningMinio> {
  const bin = await provisionMinio(o.log);
  const port = o.port ?? (await freePort());
  const ownDir = !o.dataDir;
  const dataDir = o.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'dj-minio-'));
  fs.mkdirSync(dataDir, { recursive: true });
  const accessKey = o.accessKey ?? `dj-${randomBytes(6).toString('hex')}`;
  const secretKey = o.secretKey ?? randomBytes(24).toString('base64url');
  const bucket = o.bucket ?? 'durable-jobs';
  const endpoint = `http://127.0.0.1:${port}`;

  const child = spawn(bin, ['server', dataDir, '--address', `127.0.0.1:${port}`, '--quiet'], {
    env: {
      ...process.env,
      MINIO_ROOT_USER: accessKey,
      MINIO_ROOT_PASSWORD: secretKey,
      // No web console, no update checks, no telemetry: an S3 endpoint only.
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
      MINIO_CALLHOME_ENABLE: 'off',
    },
    stdio: ['ignore', o.stdio ?? 'ignore', o.stdio ?? 'ignore'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Whatever ends this process ends MinIO with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let alive = true;
  void exited.then(() => (alive = false));

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await stopChild(child, exited, 5_000);
    if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForHttpOk(`${endpoint}/minio/health/live`, 60_000, () => alive);
    const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey } });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((e) => {
        if (!(e instanceof BucketAlreadyOwnedByYou)) throw e;
      });
    } finally {
      s3.destroy();
    }
  } catch (e) {
    await stop();
    throw e;
  }
  o.log?.(`MinIO on ${endpoint}, bucket "${bucket}", data in ${dataDir}`);
  return {
    endpoint,
    bucket,
    pid: child.pid,
    exited,
    stop,
    env: {
      BLOB_STORE: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: accessKey,
      AWS_SECRET_ACCESS_KEY: secretKey,
    },
  };
}
