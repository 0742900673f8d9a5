import net from 'node:net';

/** A TCP port free on loopback right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function listenOn(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

/**
 * `count` distinct free ports, held open together so none is handed out twice. With `below`,
 * from a random spot under that port (some programs keep ports in 16-bit signed columns).
 */
export async function freePorts(count: number, o: { below?: number } = {}): Promise<number[]> {
  const held: net.Server[] = [];
  const lowest = 10_000;
  let candidate = o.below ? lowest + Math.floor(Math.random() * (o.below - lowest - count * 4)) : 0;
  while (held.length < count) {
    if (o.below && candidate >= o.below) throw new Error(`no ${count} free ports below ${o.below}`);
    const srv = await listenOn(candidate);
    if (srv) held.push(srv);
    if (o.below) candidate++;
  }
  const ports = held.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
