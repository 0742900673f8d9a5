import http from 'node:http';
import net from 'node:net';
import type { Registry } from 'prom-client';
import { request } from 'undici';

const UPSTREAM_TIMEOUT_MS = 3_000;
const UPSTREAM_MAX_BYTES = 16 * 1024 * 1024;

export interface MetricsServer {
  /** Where Prometheus scrapes, e.g. http://127.0.0.1:9464/metrics. */
  url: string;
  close(): Promise<void>;
}

/** `host:port`, `:port` or `[v6]:port` → listen arguments. */
export function parseBindAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`"${address}" is not host:port (examples: 0.0.0.0:9464, 127.0.0.1:9464)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** The upstream's exposition text, or a comment saying why there is none (a scrape never fails for it). */
async function scrapeUpstream(url: string): Promise<string> {
  try {
    const res = await request(url, { headersTimeout: UPSTREAM_TIMEOUT_MS, bodyTimeout: UPSTREAM_TIMEOUT_MS });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return `# Temporal runtime metrics unavailable: HTTP ${res.statusCode}\n`;
    }
    let bytes = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) {
      bytes += (chunk as Buffer).length;
      if (bytes > UPSTREAM_MAX_BYTES) {
        res.body.destroy();
        return '# Temporal runtime metrics unavailable: larger than 16 MB\n';
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (e) {
    return `# Temporal runtime metrics unavailable: ${(e as Error).message.replace(/\s+/g, ' ')}\n`;
  }
}

/**
 * Serves GET /metrics: the process's prom-client registry followed by the Temporal runtime's
 * own Prometheus output (scraped from its loopback listener), so one port carries both.
 */
export async function startMetricsServer(o: { bindAddress: string; registry: Registry; upstreamUrl?: string }): Promise<MetricsServer> {
  const { host, port } = parseBindAddress(o.bindAddress);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: scrape GET /metrics\n');
      return;
    }
    Promise.all([o.registry.metrics(), o.upstreamUrl ? scrapeUpstream(o.upstreamUrl) : ''])
      .then(([own, upstream]) => {
        res.writeHead(200, { 'Content-Type': o.registry.contentType }).end(`${own}\n${upstream}`);
      })
      .catch((e: Error) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics unavailable: ${e.message}\n`);
      });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as net.AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host}:${actual}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
