import { parseArgs } from 'node:util';
import { RunningMinio, startMinio } from '../start/minio';
import { startCluster } from './cluster';

// `npm run cluster [-- --shards N --with-storage]`: a real Temporal cluster on this host (and
// with --with-storage a MinIO S3 server) until Ctrl-C; prints the variables that point durable-jobs at it.

const say = (msg: string) => process.stdout.write(`[cluster] ${msg}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      shards: { type: 'string', default: '8' },
      'log-level': { type: 'string', default: 'warn' },
      'with-storage': { type: 'boolean', default: false },
    },
  });
  const historyShards = Number(values.shards);
  if (!Number.isInteger(historyShards) || historyShards < 1 || historyShards > 1024)
    throw new Error('--shards must be an integer from 1 to 1024');

  // Until everything is up, a signal just exits: the cluster's exit hook kills what was started.
  const exitEarly = () => process.exit(130);
  process.once('SIGINT', exitEarly).once('SIGTERM', exitEarly);
  const cluster = await startCluster({ historyShards, logLevel: values['log-level'], log: say });
  let minio: RunningMinio | undefined;
  try {
    if (values['with-storage']) minio = await startMinio({ log: say });
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  process.removeListener('SIGINT', exitEarly).removeListener('SIGTERM', exitEarly);

  let stopping = false;
  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    say(`stopping (${reason})…`);
    await minio?.stop();
    await cluster.stop();
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  void cluster.died.then((reason) => stop(reason, 1));
  void minio?.exited.then((code) => stop(`MinIO exited with ${code}`, 1));

  process.stdout.write(
    [
      '',
      `  Temporal cluster ready: ${Object.keys(cluster.pids).join(', ')} (${cluster.historyShards} history shards), namespace "${cluster.namespace}"`,
      `  pids         ${JSON.stringify(cluster.pids)}`,
      `  logs         ${cluster.dir}/logs/`,
      '',
      `  TEMPORAL_ADDRESS=${cluster.address}`,
      ...Object.entries(minio?.env ?? {}).map(([k, v]) => `  ${k}=${v}`),
      '',
      `  e.g.  TEMPORAL_ADDRESS=${cluster.address}${minio ? ' BLOB_STORE=s3 …' : ''} npm start`,
      '',
      '  Ctrl-C stops everything and deletes the cluster directory.',
      '',
    ].join('\n') + '\n',
  );
}

main().catch((e) => {
  console.error(`[cluster] ${(e as Error).message}`);
  process.exit(1);
});
