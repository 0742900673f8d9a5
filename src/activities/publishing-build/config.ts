import path from 'node:path';
import { z } from 'zod';
import type { PlatformConfig } from '../../config/env';
import { byteSize, duration, hostList, int, list, optionalString, url } from '../../config/schema';

export const publishingBuildEnv = z.object({
  /** Where build workspaces are made (default <DATA_DIR>/workspaces). */
  BUILD_WORKSPACE_DIR: optionalString,
  BUILD_GIT_ALLOW_HOSTS: hostList().default(['github.com', 'gitlab.com', 'bitbucket.org']),
  /** Absolute directories `path` sources and file:// git URLs must be under; none by default. */
  BUILD_SOURCE_ROOTS: list().transform((roots) => roots.map((p) => path.resolve(p))),
  BUILD_COMMAND_IOS: z.string().trim().min(1).default('npm run build:ios'),
  BUILD_COMMAND_ANDROID: z.string().trim().min(1).default('npm run build:android'),
  /** Names of worker environment variables a build may see (everything else is withheld). */
  BUILD_ENV_PASS: list(),
  BUILD_TIMEOUT: duration('30m'),
  BUILD_KILL_GRACE: duration('10s'),
  BUILD_LOG_MAX_BYTES: byteSize('10mb'),
  BUILD_CLONE_TIMEOUT: duration('5m'),
  BUILDS_PER_MINUTE: int(5, 1, 10_000),
  BUILD_CONCURRENCY: int(1, 1, 64),
  STORE_POLL_INTERVAL: duration('30s'),
  STORE_POLL_MAX_INTERVAL: duration('5m'),
  STORE_PROCESSING_DEADLINE: duration('6h'),
  REVIEW_POLL_INTERVAL: duration('1m'),
  REVIEW_POLL_MAX_INTERVAL: duration('1h'),
  STORE_REVIEW_DEADLINE: duration('14d'),
  ASC_BASE_URL: url('https://api.appstoreconnect.apple.com'),
  ASC_KEY_ID: optionalString,
  ASC_ISSUER_ID: optionalString,
  ASC_PRIVATE_KEY: optionalString,
  ASC_PRIVATE_KEY_PATH: optionalString,
  ASC_APP_ID: optionalString,
  PLAY_BASE_URL: url('https://androidpublisher.googleapis.com'),
  PLAY_SERVICE_ACCOUNT_JSON: optionalString,
  PLAY_SERVICE_ACCOUNT_JSON_PATH: optionalString,
  PLAY_PACKAGE_NAME: optionalString,
  STORE_EMULATOR_PORT: int(4011, 0, 65535),
  STORE_EMULATOR_PROCESSING_TIME: duration('10s'),
  STORE_EMULATOR_REVIEW_TIME: duration('30s'),
});

export type PublishingBuildConfig = PlatformConfig & z.output<typeof publishingBuildEnv>;
