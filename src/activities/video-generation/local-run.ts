import path from 'node:path';
import { startProviderEmulator } from '../../emulator/server';
import type { LocalRun, LocalRunTools } from '../../worker/job-definition';
import type { VideoGenerationConfig } from './config';

/** `npm start` with no EMULATOR_URL: the zero-config `emulator` provider needs the provider emulator. */
export async function videoLocalRun(config: VideoGenerationConfig, tools: LocalRunTools): Promise<LocalRun | undefined> {
  if (config.EMULATOR_URL) return undefined;
  const emulator = await startProviderEmulator({
    port: await tools.freePortOr(config.EMULATOR_PORT),
    generationMs: config.EMULATOR_GENERATION_TIME,
    // A restarted `npm start` still knows the generations its running jobs poll.
    stateFile: path.join(config.dataDir, 'emulator', 'video-generations.json'),
  });
  return {
    env: { EMULATOR_URL: emulator.url },
    services: [`Video emulator ${emulator.url}   (provider "emulator": OpenAI Videos API and Veo/Gemini API)`],
    examples: [],
    close: () => emulator.close(),
  };
}
