/**
 * `egress-capture serve`: load and validate the configuration (exit 2 with
 * every problem listed), start the service, and on SIGTERM, SIGINT or SIGHUP
 * drain, flush and exit 0.
 */
import * as fs from 'node:fs';
import { CaptureError, describeError, errorFields } from '../errors';
import { loadConfig, type GatewayContribution } from '../config/load-config';
import { optionsHelp } from '../config/options-help';
import { DEFAULTS } from '../config/defaults';
import { gatewayContribution } from './command-config';
import { createLogger, INFO_LEVEL, LOG_BASE } from '../logger';
import { CaptureService } from '../service/capture-service';
import type { CommandIo } from './main';
import { waitForGatewayFile } from './wait-for-gateway';

/** Each drains and stops the service: SIGHUP too, so a closed terminal does not cut a drain short. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

export function serveHelp(): string {
  return `usage: egress-capture serve [options]\n\n${optionsHelp()}`;
}

export async function runServeCommand(argv: string[], io: CommandIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(serveHelp());
    return 0;
  }
  let config;
  // A gateway file that does not exist yet is waited for (wait-for-gateway.ts); everything
  // else is validated first, so a bad flag still exits 2 at once.
  let missingGateway: string | undefined;
  const loadGatewayIfPresent = (file: string): GatewayContribution => {
    if (fs.existsSync(file)) return gatewayContribution(file);
    missingGateway = file;
    return { gatewayName: '', gatewayNamespace: '', maxBytes: DEFAULTS.maxBytes, includeContentTypes: [...DEFAULTS.includeContentTypes], otlpEndpoint: '', otlpHeaders: {} };
  };
  try {
    config = loadConfig({ argv, env: io.env, loadGateway: loadGatewayIfPresent });
    if (missingGateway !== undefined) {
      const waited = await waitForGatewayFile(missingGateway, config.adminListen, STOP_SIGNALS, createLogger(config.logLevel));
      if (waited === 'stopped') return 0;
      config = loadConfig({ argv, env: io.env, loadGateway: gatewayContribution });
    }
  } catch (err) {
    if (err instanceof CaptureError) {
      io.stderr.write(`egress-capture: ${err.code}: ${err.message}\n`);
      // A listener that cannot bind is not a configuration mistake (same status as at start-up below).
      return err.code === 'CAP_ERR_ADMIN_BIND' ? 1 : 2;
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  let service: CaptureService;
  try {
    service = await CaptureService.start(config, log);
  } catch (err) {
    const code = err instanceof CaptureError ? err.code : 'error';
    io.stderr.write(`egress-capture: ${code}: ${describeError(err)}\n`);
    log.flush();
    return 1;
  }
  const grpcShown = 'unixPath' in config.grpcListen ? service.grpcAddress : `:${service.grpcPort}`;
  const sdsShown = service.sdsPort === 0 ? '' : `, certificate minter (SDS) :${service.sdsPort}`;
  // The ready line, whatever --log-level says (supervisors and scripts wait for it), in the same
  // JSON shape as every other log line so a log pipeline reading stderr never meets plain text.
  const ready = {
    level: INFO_LEVEL,
    time: Date.now(),
    ...LOG_BASE,
    msg: `egress-capture serving on node ${process.version}: gRPC ${grpcShown}, admin :${service.adminPort}${sdsShown}`,
    grpc: service.grpcAddress,
    admin: `${config.adminListen.host}:${service.adminPort}`,
    ...(service.sdsPort === 0 ? {} : { sds: `${config.sdsListen.host}:${service.sdsPort}` }),
  };
  io.stderr.write(`${JSON.stringify(ready)}\n`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    // A repeated signal is the same request: a Ctrl-C reaches both this process and a
    // bin/egress-capture.js wrapper that passes it on, and must not cut the drain short.
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.info({ signal }, 'signal received; already shutting down');
        return;
      }
      stopping = true;
      log.info({ signal }, 'signal received; shutting down');
      service.stop().then(
        () => {
          for (const name of STOP_SIGNALS) process.off(name, onSignal);
          log.flush();
          resolve(0);
        },
        (err: unknown) => {
          for (const name of STOP_SIGNALS) process.off(name, onSignal);
          log.error(errorFields(err), 'shutdown failed');
          log.flush();
          resolve(1);
        },
      );
    };
    for (const name of STOP_SIGNALS) process.on(name, onSignal);
    watchNpmLauncher(io.env, () => onSignal('SIGHUP'));
  });
}

/**
 * Under `npm start` the PID a user sees is npm's. npm passes SIGTERM and
 * SIGINT on (the start script execs node, so no shell sits in between), but
 * it dies of SIGHUP, or of SIGKILL, without a word to its child. When npm
 * started this process and is gone, the service stops as if it got SIGHUP
 * rather than keep the ports and the data directory with nobody to stop it.
 * Outside `npm start` a reparented server is left alone (nohup, a shell
 * that exited on purpose).
 */
function watchNpmLauncher(env: NodeJS.ProcessEnv, onGone: () => void): void {
  if (env.npm_lifecycle_event !== 'start') return;
  const launcher = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== launcher) {
      clearInterval(timer);
      onGone();
    }
  }, 500);
  timer.unref();
}
