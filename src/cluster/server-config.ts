import YAML from 'yaml';

// The server's static config for a one-host cluster of four services on PostgreSQL, modelled
// on the module's config/development-postgres12.yaml with our ports and shard count.

export const SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface ServerConfigOptions {
  historyShards: number;
  postgres: { port: number; user: string; password: string };
  /** gRPC and membership port per service, and the frontend's HTTP port. */
  ports: Record<ServiceName, { grpc: number; membership: number }> & { frontendHttp: number };
  dynamicConfigPath: string;
  logLevel: string;
}

export function serverConfigYaml(o: ServerConfigOptions): string {
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${o.postgres.port}`,
      connectProtocol: 'tcp',
      user: o.postgres.user,
      password: o.postgres.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (name: ServiceName) => ({
    rpc: {
      grpcPort: o.ports[name].grpc,
      membershipPort: o.ports[name].membership,
      bindOnLocalHost: true,
      ...(name === 'frontend' ? { httpPort: o.ports.frontendHttp } : {}),
    },
  });
  const config = {
    log: { stdout: true, level: o.logLevel },
    persistence: {
      defaultStore: 'postgres-default',
      // PostgreSQL 12+ visibility is Temporal's advanced visibility: custom search attributes, IN, ORDER BY.
      visibilityStore: 'postgres-visibility',
      numHistoryShards: o.historyShards,
      datastores: {
        'postgres-default': datastore('temporal', 20),
        'postgres-visibility': datastore('temporal_visibility', 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
    },
    services: Object.fromEntries(SERVICES.map((s) => [s, service(s)])),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${o.ports.frontend.grpc}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: o.dynamicConfigPath, pollInterval: '10s' },
  };
  return YAML.stringify(config);
}

/**
 * Dynamic config of the cluster. `rateLimitedQueues` (full names, prefix included) get one
 * partition each: the server divides a queue's rate limit over its partitions.
 */
export function dynamicConfigYaml(rateLimitedQueues: string[]): string {
  const onePartition = () => rateLimitedQueues.map((q) => ({ value: 1, constraints: { taskQueueName: q } }));
  return YAML.stringify({
    // Search attributes registered a moment ago are usable at once (the dev server does the same);
    // a read of the metadata table per cache miss, negligible at this scale.
    'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true, constraints: {} }],
    // Jobs carry their owner as fairness key: a backed-up queue serves owners in turn, not FIFO.
    'matching.enableFairness': [{ value: true, constraints: {} }],
    'matching.numTaskqueueReadPartitions': onePartition(),
    'matching.numTaskqueueWritePartitions': onePartition(),
  });
}
