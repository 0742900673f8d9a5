import type { RunningCluster } from '../../src/cluster/cluster';
import type { RunningMinio } from '../../src/start/minio';
import devServerTeardown from '../harness/global-teardown';

export default async function clusterTeardown(): Promise<void> {
  const g = globalThis as { __CLUSTER__?: RunningCluster; __MINIO__?: RunningMinio };
  await devServerTeardown();
  await g.__MINIO__?.stop();
  await g.__CLUSTER__?.stop();
}
