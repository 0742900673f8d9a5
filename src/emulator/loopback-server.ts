import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFields, sendJson } from './http-util';

// What every emulator's HTTP server shares: listening on a loopback port, turning a handler's
// failure into the emulated API's own error body, closing with its open connections, and the
// fault-rule control routes.

export interface LoopbackServer {
  /** e.g. http://127.0.0.1:4010 */
  origin: string;
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
type ErrorAnswer = (err: unknown, req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Serves `handle` on host:port (port 0: any free one); a failed handler gets `answerError` unless it has begun its answer. */
export async function startLoopbackServer(
  handle: Handler,
  answerError: ErrorAnswer,
  options: { port?: number; host?: string } = {},
): Promise<LoopbackServer> {
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      answerError(err, req, res);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** POST /_emulator/faults adds a rule (JSON body), DELETE clears them; false when the request is neither. */
export async function answerFaultControl<Rule>(
  faults: { add(rule: Rule): void; clear(): void },
  method: string,
  path: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<boolean> {
  if (path !== '/_emulator/faults') return false;
  if (method === 'POST') {
    const rule = (await readFields(req)) as Rule;
    faults.add(rule);
    sendJson(res, 201, { added: rule });
    return true;
  }
  if (method === 'DELETE') {
    faults.clear();
    sendJson(res, 200, { cleared: true });
    return true;
  }
  return false;
}

/** The first route for `method` whose pattern matches `path`, with the pattern's captured groups. */
export function matchRoute<Route extends { method: string; pattern: RegExp }>(
  routes: readonly Route[],
  method: string,
  path: string,
): { route: Route; params: string[] } | undefined {
  for (const route of routes) {
    const m = route.method === method ? route.pattern.exec(path) : null;
    if (m) return { route, params: m.slice(1) };
  }
  return undefined;
}
