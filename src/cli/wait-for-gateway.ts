/**
 * `serve --gateway FILE` before FILE exists: in Kubernetes the gateway file is
 * a ConfigMap that `egress-capture translate` writes, usually applied after the
 * Deployment. Exiting would crash-loop the pod; instead the service waits,
 * live (/healthz 200) and not ready (/readyz 503 naming the file), and starts
 * as soon as the file appears (a ConfigMap volume shows it within a minute).
 * A file that exists but is invalid is still a configuration error: exit 2.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { Logger } from 'pino';
import type { ListenAddress } from '../config/runtime-config';
import { CaptureError } from '../errors';

/** How often the file is looked for; a ConfigMap update reaches the volume in about a minute anyway. */
const POLL_MS = 1000;

/**
 * Resolves 'present' once `file` exists, or 'stopped' when one of `signals`
 * arrives while waiting. Serves the probes on `admin` meanwhile.
 */
export async function waitForGatewayFile(file: string, admin: ListenAddress, signals: readonly NodeJS.Signals[], log: Logger): Promise<'present' | 'stopped'> {
  if (fs.existsSync(file)) return 'present';
  const reason = `waiting for the gateway file ${file} (apply the output of egress-capture translate)\n`;
  const server = http.createServer((req, res) => {
    const live = req.url === '/healthz' || req.url === '/ping';
    res.writeHead(live ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(live ? 'ok\n' : reason);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new CaptureError('CAP_ERR_ADMIN_BIND', `cannot listen on ${admin.host}:${admin.port}: ${err.message}`, { cause: err })));
    server.listen(admin.port, admin.host, () => resolve());
  });
  log.warn({ file }, 'gateway file not found: serving /healthz, not ready, until it appears');
  const outcome = await new Promise<'present' | 'stopped'>((resolve) => {
    const finish = (result: 'present' | 'stopped'): void => {
      clearInterval(timer);
      for (const name of signals) process.off(name, onSignal);
      resolve(result);
    };
    const onSignal = (): void => finish('stopped');
    const timer = setInterval(() => {
      if (fs.existsSync(file)) finish('present');
    }, POLL_MS);
    for (const name of signals) process.on(name, onSignal);
  });
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (outcome === 'present') log.info({ file }, 'gateway file appeared; starting');
  return outcome;
}
