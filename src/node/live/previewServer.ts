/**
 * The live preview: a tiny HTTP server on 127.0.0.1 (node:http only) that shows the processed
 * stream in a browser — Node has no windows, so this replaces the seed's `imshow`.
 *
 * - `/`            an HTML page: the stream, the key help, an FPS readout; keys go to `POST /key`.
 * - `/stream.mjpg` the stream as MJPEG (`multipart/x-mixed-replace`).
 * - `/frame.jpg`   the latest processed frame as a JPEG.
 * - `/stats`       JSON: whatever the `stats` callback returns (fps, frames, per-stage ms…).
 * - `POST /key`    JSON `{"key":"d"}` → `onKey`.
 *
 * Frames are encoded (sharp, JPEG) only when someone watches: when a stream client is connected,
 * or when `/frame.jpg` is asked for; at most one encode runs at a time and it always takes the
 * newest frame. A stream client whose socket has not taken the previous JPEG yet is skipped for
 * that frame, so a slow client costs no memory, only frames.
 *
 * Only requests whose Host is the loopback address are served (no DNS rebinding), and `POST /key`
 * needs `Content-Type: application/json` (other web pages cannot send that without a CORS
 * preflight, which this server does not grant).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import sharp from 'sharp';
import type { Frame } from '../../core/frame.js';
import { KEY_HELP, keyAction } from './keys.js';

export interface PreviewServerOptions {
  /** 0 (default) = any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** JPEG quality, default 80. */
  quality?: number;
  /** A key pressed in the page (already checked to be one of the live keys). */
  onKey?: (key: string) => void;
  /** The `/stats` JSON. */
  stats?: () => object;
  /** Page title. */
  title?: string;
}

export interface PreviewServer {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  readonly port: number;
  /** Stream clients connected now. */
  readonly clients: number;
  /** JPEGs encoded so far (frames nobody watched are not encoded). */
  readonly encoded: number;
  /** /frame.jpg requests waiting for a frame. */
  readonly waiting: number;
  /** Offer a processed frame. Cheap: the frame is only kept (not copied; don't change its data afterwards). */
  push(frame: Frame): void;
  /** Disconnect everyone and stop listening. */
  close(): Promise<void>;
}

const BOUNDARY = 'backdropframe';
/** A stream client with more than this still unsent is skipped. */
const MAX_BACKLOG = 64 * 1024;

interface StreamClient {
  res: ServerResponse;
  /** Sequence number of the last frame sent. */
  sent: number;
}

function pageHtml(title: string): string {
  const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title>
<style>
body{margin:0;background:#111;color:#ddd;font:14px system-ui,sans-serif;display:flex;flex-direction:column;align-items:center}
img{max-width:100vw;max-height:calc(100vh - 3em);margin-top:.5em;background:#000}
p{margin:.5em}#fps{font-variant-numeric:tabular-nums}
</style></head><body>
<img id="view" src="/stream.mjpg" alt="processed camera stream">
<p>${esc(KEY_HELP)} · <span id="fps">– fps</span></p>
<script>
const fps = document.getElementById('fps');
async function poll() {
  try {
    const s = await (await fetch('/stats', { cache: 'no-store' })).json();
    fps.textContent = (typeof s.fps === 'number' ? s.fps.toFixed(1) : '–') + ' fps' + (s.dropped ? ' · ' + s.dropped + ' dropped' : '');
  } catch { fps.textContent = 'stopped'; return; }
  setTimeout(poll, 1000);
}
poll();
addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (!['a', 'd', 'f', 'q', 'A', 'D', 'F', 'Q', 'ArrowLeft', 'ArrowRight', 'Escape'].includes(e.key)) return;
  e.preventDefault();
  fetch('/key', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: e.key }) });
});
</script></body></html>
`;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function loopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]';
}

/** Start the preview server; resolves once it listens. */
export async function startPreviewServer(opts: PreviewServerOptions = {}): Promise<PreviewServer> {
  const quality = opts.quality ?? 80;
  const host = opts.host ?? '127.0.0.1';
  const page = pageHtml(opts.title ?? 'backdrop live');
  const streamClients = new Set<StreamClient>();
  const sockets = new Set<Socket>();
  let latest: Frame | null = null;
  let latestSeq = 0;
  let jpeg: { seq: number; data: Buffer } | null = null;
  let encoding: Promise<void> | null = null;
  let encodedCount = 0;
  let closed = false;
  /** /frame.jpg requests waiting for a frame or an encode. */
  const frameWaiters = new Set<() => void>();

  const encodeLatest = (): void => {
    if (encoding || closed || !latest || (jpeg && jpeg.seq === latestSeq)) return;
    const frame = latest;
    const seq = latestSeq;
    encoding = sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: frame.channels } })
      .jpeg({ quality })
      .toBuffer()
      .then(
        (data) => {
          encodedCount++;
          jpeg = { seq, data };
          for (const c of streamClients) sendToClient(c);
          for (const w of [...frameWaiters]) w();
        },
        () => {
          // A frame sharp could not encode: skip it.
        },
      )
      .finally(() => {
        encoding = null;
        // A newer frame arrived meanwhile and someone is watching: encode that one.
        if (latestSeq !== seq && (streamClients.size > 0 || frameWaiters.size > 0)) encodeLatest();
      });
  };

  const sendToClient = (c: StreamClient): void => {
    if (!jpeg || c.sent === jpeg.seq || c.res.destroyed) return;
    // Slow client: the previous frame is still in its socket buffer. Skip this one.
    if (c.res.writableLength > MAX_BACKLOG) return;
    c.sent = jpeg.seq;
    c.res.write(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.data.length}\r\n\r\n`);
    c.res.write(jpeg.data);
    c.res.write('\r\n');
  };

  const handleFrame = (res: ServerResponse): void => {
    const reply = (): boolean => {
      if (jpeg && jpeg.seq === latestSeq) {
        send(res, 200, 'image/jpeg', jpeg.data);
        return true;
      }
      return false;
    };
    if (reply()) return;
    // Answer with the first JPEG of this frame or a newer one (a busy camera must not starve the request).
    const wanted = Math.max(1, latestSeq);
    const waiter = (): void => {
      if (closed) {
        frameWaiters.delete(waiter);
        clearTimeout(timer);
        if (!res.headersSent) send(res, 503, 'text/plain; charset=utf-8', 'the preview has stopped\n');
        return;
      }
      if (jpeg && jpeg.seq >= wanted) {
        frameWaiters.delete(waiter);
        clearTimeout(timer);
        send(res, 200, 'image/jpeg', jpeg.data);
      }
    };
    frameWaiters.add(waiter);
    // No frame yet (camera still starting): wait for one, not forever.
    const timer = setTimeout(() => {
      frameWaiters.delete(waiter);
      if (!res.headersSent) send(res, 503, 'text/plain; charset=utf-8', 'no frame yet\n');
    }, 10_000);
    res.on('close', () => {
      frameWaiters.delete(waiter);
      clearTimeout(timer);
    });
    encodeLatest();
  };

  const handleKey = (req: IncomingMessage, res: ServerResponse): void => {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      send(res, 415, 'text/plain; charset=utf-8', 'send JSON {"key": "d"}\n');
      return;
    }
    let body = '';
    let tooLong = false;
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 1024) {
        tooLong = true;
        req.destroy();
      }
    });
    req.on('end', () => {
      if (tooLong) return;
      let key: unknown;
      try {
        key = (JSON.parse(body) as { key?: unknown }).key;
      } catch {
        key = undefined;
      }
      if (typeof key !== 'string' || keyAction(key) === null) {
        send(res, 400, 'application/json', JSON.stringify({ error: 'unknown key', keys: KEY_HELP }));
        return;
      }
      opts.onKey?.(key);
      send(res, 200, 'application/json', JSON.stringify({ key, action: keyAction(key) }));
    });
  };

  const server = createServer((req, res) => {
    if (!loopbackHost(req.headers.host)) {
      send(res, 403, 'text/plain; charset=utf-8', 'forbidden\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && path === '/key') return handleKey(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    switch (path) {
      case '/':
      case '/index.html':
        send(res, 200, 'text/html; charset=utf-8', page);
        return;
      case '/stats':
        send(res, 200, 'application/json', JSON.stringify(opts.stats?.() ?? {}));
        return;
      case '/frame.jpg':
        handleFrame(res);
        return;
      case '/stream.mjpg': {
        res.writeHead(200, {
          'content-type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
          'cache-control': 'no-store',
          connection: 'close',
        });
        const client: StreamClient = { res, sent: 0 };
        streamClients.add(client);
        res.on('close', () => streamClients.delete(client));
        if (jpeg && jpeg.seq === latestSeq) sendToClient(client);
        else encodeLatest();
        return;
      }
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}/`,
    port,
    get clients() {
      return streamClients.size;
    },
    get encoded() {
      return encodedCount;
    },
    get waiting() {
      return frameWaiters.size;
    },
    push(frame: Frame): void {
      if (closed) return;
      latest = frame;
      latestSeq++;
      if (streamClients.size > 0 || frameWaiters.size > 0) encodeLatest();
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const w of [...frameWaiters]) w();
      for (const c of streamClients) c.res.end();
      streamClients.clear();
      await encoding?.catch(() => undefined);
      latest = null;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
