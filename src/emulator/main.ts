import { loadConfigOrExit } from '../config/env';
import { startProviderEmulator } from './server';

// `npm run emulator`: the video provider emulator on its own (EMULATOR_PORT, default 4010).

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const emulator = await startProviderEmulator({ port: config.EMULATOR_PORT, generationMs: config.EMULATOR_GENERATION_TIME });
  const log = (msg: string, fields: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg, process: 'emulator', ...fields })}\n`);
  log('provider emulator ready', {
    url: emulator.url,
    OPENAI_BASE_URL: emulator.openaiBaseUrl,
    GEMINI_BASE_URL: emulator.geminiBaseUrl,
    generationMs: config.EMULATOR_GENERATION_TIME,
  });
  const stop = () => {
    void emulator.close().then(() => {
      log('provider emulator stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
