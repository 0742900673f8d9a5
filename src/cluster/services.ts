import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SERVICES, ServiceName } from './server-config';

// The four Temporal services as separate processes of the one server binary, each logging to
// its own file, each in its own process group so a terminal's Ctrl-C reaches only our
// supervisor, which stops them in order.

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

export function startService(o: { serverBin: string; root: string; env: string; name: ServiceName }): ServiceProcess {
  const logFile = path.join(o.root, 'logs', `${o.name}.log`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(
    o.serverBin,
    ['--root', o.root, '--config', 'config', '--env', o.env, '--allow-no-auth', 'start', '--service', o.name],
    {
      cwd: o.root,
      stdio: ['ignore', fd, fd],
      detached: true,
    },
  );
  fs.closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  return { name: o.name, child, logFile, exited };
}

/** gRPC health service names the server registers (the worker service has no gRPC server). */
const HEALTH_NAMES: Record<Exclude<ServiceName, 'worker'>, string> = {
  frontend: 'temporal.api.workflowservice.v1.WorkflowService',
  history: 'temporal.api.workflowservice.v1.HistoryService',
  matching: 'temporal.api.workflowservice.v1.MatchingService',
};

/** True when the service answers SERVING on its gRPC health endpoint. */
export async function serviceHealthy(name: Exclude<ServiceName, 'worker'>, grpcPort: number): Promise<boolean> {
  const conn = await Connection.connect({ address: `127.0.0.1:${grpcPort}`, connectTimeout: 2_000 });
  try {
    const res = await conn.healthService.check({ service: HEALTH_NAMES[name] });
    return res.status === 1; // SERVING
  } finally {
    await conn.close();
  }
}

/** Stops services frontend first (no new requests), history last (it owns the shards). */
export async function stopServices(services: ServiceProcess[], graceMs: number): Promise<void> {
  const order: ServiceName[] = ['frontend', 'worker', 'matching', 'history'];
  for (const name of order) {
    const s = services.find((p) => p.name === name);
    if (!s || s.child.exitCode !== null || s.child.signalCode !== null) continue;
    s.child.kill('SIGTERM');
    const timer = setTimeout(() => s.child.kill('SIGKILL'), graceMs);
    await s.exited;
    clearTimeout(timer);
  }
}

export { SERVICES };
