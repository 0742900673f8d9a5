import fs from 'node:fs';
import { Client, Connection, ConnectionOptions } from '@temporalio/client';
import { NativeConnection, NativeConnectionOptions } from '@temporalio/worker';
import type { AppConfig } from '../config/env';

type TemporalSettings = Pick<
  AppConfig,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_NAMESPACE'
  | 'TEMPORAL_API_KEY'
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CLIENT_CERT_PATH'
  | 'TEMPORAL_TLS_CLIENT_KEY_PATH'
  | 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'
  | 'TEMPORAL_TLS_SERVER_NAME'
>;

function tlsOptions(c: TemporalSettings): ConnectionOptions['tls'] {
  const mtls = c.TEMPORAL_TLS_CLIENT_CERT_PATH && c.TEMPORAL_TLS_CLIENT_KEY_PATH;
  if (!c.TEMPORAL_TLS && !mtls && !c.TEMPORAL_API_KEY) return undefined;
  return {
    serverNameOverride: c.TEMPORAL_TLS_SERVER_NAME,
    serverRootCACertificate: c.TEMPORAL_TLS_SERVER_CA_CERT_PATH ? fs.readFileSync(c.TEMPORAL_TLS_SERVER_CA_CERT_PATH) : undefined,
    clientCertPair: mtls
      ? { crt: fs.readFileSync(c.TEMPORAL_TLS_CLIENT_CERT_PATH!), key: fs.readFileSync(c.TEMPORAL_TLS_CLIENT_KEY_PATH!) }
      : undefined,
  };
}

export async function connectClient(c: TemporalSettings): Promise<Client> {
  const connection = await Connection.connect({
    address: c.TEMPORAL_ADDRESS,
    tls: tlsOptions(c),
    apiKey: c.TEMPORAL_API_KEY,
  });
  return new Client({ connection, namespace: c.TEMPORAL_NAMESPACE });
}

export async function connectWorker(c: TemporalSettings): Promise<NativeConnection> {
  const options: NativeConnectionOptions = {
    address: c.TEMPORAL_ADDRESS,
    tls: tlsOptions(c) as NativeConnectionOptions['tls'],
    apiKey: c.TEMPORAL_API_KEY,
  };
  return NativeConnection.connect(options);
}
