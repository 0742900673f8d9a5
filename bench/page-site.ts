// The benchmark's page site, in a process of its own: answers `GET /page/<n>` with the test
// site's generated article after a fixed latency, over HTTP/1.1 keep-alive.
//
//   node --import tsx bench/page-site.ts --latency 100      (prints `listening <port>`)
//
// In production the pages come from other machines; here the site shares the worker's cores,
// so it is kept lean (a plain socket server that writes prepared responses, ~4x less CPU per
// page than node:http) and runs in its own process so its event loop never delays the bench's
// client or the worker's, and its CPU is measured apart from both.
import net from 'node:net';
import { parseArgs } from 'node:util';
import { generatedPage } from '../test/fixtures/test-site';

const { values } = parseArgs({ options: { latency: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } });
const latencyMs = Number(values.latency);

/** Largest request head accepted; anything longer is not one of the bench's GETs. */
const MAX_HEAD = 8192;
const PAGE_PATH = /^GET \/page\/(\d+) HTTP\/1\.1$/;

function response(status: string, body: string, keepAlive: boolean): Buffer {
  const bytes = Buffer.from(body);
  const head =
    `HTTP/1.1 ${status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: ${bytes.length}\r\n` +
    `connection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bytes]);
}

const notFound = response('404 Not Found', '<html><body>not found</body></html>', false);

function serve(socket: net.Socket): void {
  let pending = '';
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
      const requestLine = pending.slice(0, pending.indexOf('\r\n'));
      pending = pending.slice(end + 4);
      const page = PAGE_PATH.exec(requestLine);
      if (!page) {
        socket.end(notFound);
        return;
      }
      const body = response('200 OK', generatedPage(page[1]), true);
      const send = () => {
        if (!socket.destroyed) socket.write(body);
      };
      if (latencyMs > 0) setTimeout(send, latencyMs);
      else send();
    }
    if (pending.length > MAX_HEAD) socket.destroy();
  });
}

const server = net.createServer(serve);
server.listen(0, values.host, () => {
  const { port } = server.address() as net.AddressInfo;
  console.log(`listening ${port}`);
});
process.on('SIGTERM', () => process.exit(0));
