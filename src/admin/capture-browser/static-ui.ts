/**
 * Serves the capture browser's page at /ui/: the files `npm run build`
 * bundles into dist/ui (ui/build.mjs), read once and kept in memory with
 * their gzip and brotli forms (the whole page is a few hundred KB).
 *
 * Caching: bundled files carry a content hash in their names and are
 * `immutable` for a year; index.html is revalidated every time (ETag), so
 * a new build is picked up on the next load. `private`: the port may sit
 * behind credentials, and a shared cache must not keep the page.
 *
 * Content-Security-Policy: scripts and styles from this origin only, no
 * inline script or style, no frames, no form posts, no other origin to
 * talk to — captured content rendered by mistake as markup still could not
 * run or call out.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Where the build writes the page: dist/ui, beside dist/src. */
export const UI_DIR = path.resolve(__dirname, '..', '..', '..', 'ui');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

interface Asset {
  type: string;
  etag: string;
  immutable: boolean;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
}

export class StaticUi {
  private assets: Map<string, Asset> | undefined;

  constructor(private readonly dir: string = UI_DIR) {}

  static owns(pathname: string): boolean {
    return pathname === '/ui' || pathname.startsWith('/ui/');
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    req.resume();
    if (url.pathname === '/ui') {
      res.writeHead(308, { Location: `/ui/${url.search}` });
      res.end();
      return;
    }
    const assets = this.load();
    if (assets === undefined) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`the capture browser is not built (no ${this.dir}): run npm run build\n`);
      return;
    }
    const name = url.pathname.slice('/ui/'.length);
    // Any path that is not a file is the page itself: the page reads its own URL.
    const asset = assets.get(name) ?? (name.includes('.') ? undefined : assets.get('index.html'));
    if (asset === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
      return;
    }
    const headers: Record<string, string> = {
      'Content-Type': asset.type,
      ETag: asset.etag,
      'Cache-Control': asset.immutable ? 'private, max-age=31536000, immutable' : 'private, no-cache',
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      Vary: 'Accept-Encoding',
    };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const accept = String(req.headers['accept-encoding'] ?? '');
    let body = asset.identity;
    if (/\bbr\b/.test(accept)) {
      body = asset.br;
      headers['Content-Encoding'] = 'br';
    } else if (/\bgzip\b/.test(accept)) {
      body = asset.gzip;
      headers['Content-Encoding'] = 'gzip';
    }
    headers['Content-Length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** The built files, read at the first request (undefined when there is no build). */
  private load(): Map<string, Asset> | undefined {
    if (this.assets !== undefined) return this.assets;
    if (!fs.existsSync(path.join(this.dir, 'index.html'))) return undefined;
    const assets = new Map<string, Asset>();
    for (const name of fs.readdirSync(this.dir)) {
      const type = TYPES[path.extname(name)];
      if (type === undefined) continue;
      const identity = fs.readFileSync(path.join(this.dir, name));
      assets.set(name, {
        type,
        etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`,
        // ui/build.mjs names bundles <name>-<HASH>.<ext>.
        immutable: /-[A-Z0-9]{8,}\.(js|css)$/.test(name),
        identity,
        gzip: zlib.gzipSync(identity, { level: 9 }),
        br: zlib.brotliCompressSync(identity),
      });
    }
    this.assets = assets;
    return assets;
  }
}
