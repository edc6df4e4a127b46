// The upstream the Envoy Gateway end-to-end tests send through the gateway to, and their teardown.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { EnvoyProcess } from '../envoy/envoy-process';
import type { ServiceProcess } from '../service/service-process';

/** An echo server: the request's body and test id back as JSON. */
export function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'chatcmpl-eg', echoed: Buffer.concat(chunks).toString(), testId: req.headers['x-test-id'] ?? null }));
  });
}

/** Listen on an ephemeral port of `host`; resolves to the port. */
export async function listen(server: http.Server | https.Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as { port: number }).port;
}

/** A POST through Envoy's listener on `listenerPort`: absolute-form when `target` is a URL, else origin-form to `host`. */
export function post(listenerPort: number, host: string, target: string, testId: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port: listenerPort, method: 'POST', path: target, headers: { host, 'x-test-id': testId, 'content-type': 'application/json' }, agent: false, timeout: 15_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    request.on('timeout', () => request.destroy(new Error('no answer within 15 s')));
    request.on('error', reject);
    request.end(body);
  });
}

/** Stop what an end-to-end test started (each part may be missing when its set-up failed). */
export async function stopAll(parts: { envoy?: EnvoyProcess; capture?: ServiceProcess; servers: Array<http.Server | https.Server | undefined>; dir?: string }): Promise<void> {
  await parts.envoy?.stop();
  if (parts.capture) {
    parts.capture.child.kill('SIGTERM');
    await parts.capture.exited;
  }
  await Promise.all(parts.servers.filter((s): s is http.Server | https.Server => s !== undefined).map((s) => new Promise((resolve) => s.close(resolve))));
  if (parts.dir) fs.rmSync(parts.dir, { recursive: true, force: true });
}
