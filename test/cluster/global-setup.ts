import { RunningCluster, startCluster } from '../../src/cluster/cluster';
import { RunningMinio, startMinio } from '../../src/start/minio';
import devServerSetup from '../harness/global-setup';

// `npm run test:cluster`: the suites run on a real Temporal cluster (four services, PostgreSQL)
// instead of the dev server, with S3 storage on a MinIO, and every startWorkers() call brings up
// two worker processes that share nothing but Temporal and S3.

const say = (m: string) => process.stdout.write(`\n[cluster-harness] ${m}`);

export default async function clusterSetup(): Promise<void> {
  const started = Date.now();
  const cluster: RunningCluster = await startCluster({ log: say });
  (globalThis as { __CLUSTER__?: RunningCluster }).__CLUSTER__ = cluster;
  const minio: RunningMinio = await startMinio({ log: say });
  (globalThis as { __MINIO__?: RunningMinio }).__MINIO__ = minio;
  Object.assign(process.env, minio.env, { TEMPORAL_TEST_ADDRESS: cluster.address, TEST_WORKER_PROCESSES: '2' });
  say(
    `cluster at ${cluster.address} (${cluster.historyShards} shards), MinIO at ${minio.endpoint}, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  await devServerSetup(); // sees TEMPORAL_TEST_ADDRESS: starts no dev server, bundles the workflows
}
