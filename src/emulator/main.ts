import { loadConfigOrExit } from '../config/env';
import { startProviderEmulator } from './server';
import { startDevStores } from './stores/dev-setup';

// `npm run emulator`: the video provider emulator (EMULATOR_PORT, default 4010) and the app
// store emulator (STORE_EMULATOR_PORT, default 4011, with dev keys under DATA_DIR) on their own.

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
  const stores = await startDevStores(config);
  log('store emulator ready (App Store Connect and Google Play); point the workers at it with', {
    url: stores.emulator.url,
    ...stores.env,
  });
  const stop = () => {
    void Promise.all([emulator.close(), stores.emulator.close()]).then(() => {
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
