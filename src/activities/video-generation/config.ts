import { z } from 'zod';
import type { PlatformConfig } from '../../config/env';
import { byteSize, duration, int, optionalString, optionalUrl, url } from '../../config/schema';

export const videoGenerationEnv = z.object({
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: url('https://api.openai.com/v1'),
  GEMINI_API_KEY: optionalString,
  GEMINI_BASE_URL: url('https://generativelanguage.googleapis.com/v1beta'),
  VIDEO_MAX_IN_FLIGHT: int(2, 1, 100),
  VIDEO_STARTS_PER_MINUTE: int(10, 1, 10_000),
  VIDEO_POLL_DEADLINE: duration('10m'),
  VIDEO_POLL_INTERVAL: duration('5s'),
  VIDEO_POLL_MAX_INTERVAL: duration('60s'),
  /** A provider's video larger than this fails the job instead of filling the disk. */
  VIDEO_MAX_BYTES: byteSize('512mb'),
  /** Where provider `emulator` is reached; `npm start` sets it to the emulator it runs. */
  EMULATOR_URL: optionalUrl(),
  EMULATOR_PORT: int(4010, 0, 65535),
  EMULATOR_GENERATION_TIME: duration('20s'),
});

export type VideoGenerationConfig = PlatformConfig & z.output<typeof videoGenerationEnv>;
