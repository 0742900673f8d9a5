import { ApplicationFailure } from '@temporalio/common';
import type { VideoGenerationConfig } from '../config';
import type { VideoProviderName } from '../../../workflows/video-generation/contract';
import { createGeminiVideoClient } from './gemini';
import { createOpenAiVideoClient } from './openai';
import type { VideoProvider } from './types';

export type { VideoProvider, VideoDownload, StartedGeneration, CancelOutcome, FoundGeneration } from './types';

/** Where the `emulator` provider lives: EMULATOR_URL (set by `npm start`), else the `npm run emulator` default. */
export function emulatorOrigin(config: VideoGenerationConfig): string {
  return (config.EMULATOR_URL ?? `http://127.0.0.1:${config.EMULATOR_PORT}`).replace(/\/+$/, '').replace(/\/v1$/, '');
}

/**
 * The client for a provider, from configuration. The configured base URL's host is trusted
 * (the operator chose it), so a loopback emulator works without OUTBOUND_ALLOW_HOSTS; any
 * other host a provider sends us to (e.g. a download redirect) must pass the SSRF guard.
 */
export function createVideoProvider(name: VideoProviderName, config: VideoGenerationConfig): VideoProvider {
  const httpFor = (baseUrl: string) => ({
    policy: { allowHosts: [...config.OUTBOUND_ALLOW_HOSTS, new URL(baseUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase()] },
    timeoutMs: config.FETCH_TIMEOUT,
    connectTimeoutMs: config.FETCH_CONNECT_TIMEOUT,
  });
  switch (name) {
    case 'sora':
      return createOpenAiVideoClient({
        name,
        baseUrl: config.OPENAI_BASE_URL,
        apiKey: required(config.OPENAI_API_KEY, 'OPENAI_API_KEY', name),
        http: httpFor(config.OPENAI_BASE_URL),
      });
    case 'emulator': {
      const baseUrl = `${emulatorOrigin(config)}/v1`;
      return createOpenAiVideoClient({ name, baseUrl, apiKey: 'emulator-key', http: httpFor(baseUrl) });
    }
    case 'veo':
      return createGeminiVideoClient({
        baseUrl: config.GEMINI_BASE_URL,
        apiKey: required(config.GEMINI_API_KEY, 'GEMINI_API_KEY', name),
        http: httpFor(config.GEMINI_BASE_URL),
      });
  }
}

function required(value: string | undefined, variable: string, provider: string): string {
  if (value) return value;
  throw ApplicationFailure.create({
    type: 'ProviderNotConfigured',
    message: `the ${provider} provider needs ${variable} on the worker; set it, or use provider "emulator"`,
    nonRetryable: true,
  });
}
