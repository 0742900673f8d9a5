import path from 'node:path';
import { startDevStores, storesNeedEmulator } from '../../emulator/stores/dev-setup';
import { ensureSampleApp } from './sample-app';
import type { LocalRun, LocalRunTools } from '../../worker/job-definition';
import type { PublishingBuildConfig } from './config';

/**
 * `npm start` with no store credentials: the store emulator with generated dev keys; with no
 * source roots, a sample app under DATA_DIR as the one local source allowed.
 */
export async function publishingLocalRun(config: PublishingBuildConfig, tools: LocalRunTools): Promise<LocalRun | undefined> {
  const need = storesNeedEmulator(config);
  const stores = need.ios || need.android ? await startDevStores(config, await tools.freePortOr(config.STORE_EMULATOR_PORT)) : undefined;
  const sampleApp = config.BUILD_SOURCE_ROOTS.length ? undefined : ensureSampleApp(path.join(config.dataDir, 'sample-app'), tools.say);
  if (!stores && !sampleApp) return undefined;
  const services: string[] = [];
  const examples: string[] = [];
  if (stores) {
    const keys = path.relative(process.cwd(), config.dataDir) || '.';
    services.push(
      `Store emulator ${stores.emulator.url}   (App Store Connect and Google Play for publishing builds; dev keys in ${keys}/store-dev-keys)`,
    );
  }
  if (sampleApp) {
    examples.push(
      `build: curl -H "Authorization: Bearer ${tools.apiKey}" -H 'Content-Type: application/json' ${tools.apiUrl}/api/v1/jobs/publishing-builds \\`,
      `         -d '{"projectId":"sample","platform":"ios","source":{"git":"file://${sampleApp}"},"version":"1.0.0","buildNumber":1}'`,
    );
  }
  return {
    env: { ...stores?.env, ...(sampleApp ? { BUILD_SOURCE_ROOTS: sampleApp } : {}) },
    services,
    examples,
    close: async () => stores?.emulator.close(),
  };
}
