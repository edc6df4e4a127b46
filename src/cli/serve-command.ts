/**
 * `egress-capture serve`: load and validate the configuration (exit 2 with
 * every problem listed), start the service, and on SIGTERM/SIGINT drain,
 * flush and exit 0.
 */
import { CaptureError, describeError } from '../errors';
import { OPTION_SPECS, loadConfig, type GatewayContribution } from '../config/load-config';
import { createLogger } from '../logger';
import { CaptureService } from '../service/capture-service';
import type { CommandIo } from './main';

export function serveHelp(): string {
  const lines = OPTION_SPECS.map((spec) => `  --${spec.flag.padEnd(26)} ${spec.help}\n  ${''.padEnd(28)} env ${spec.env}`);
  return `usage: egress-capture serve [options]\n\nPrecedence: flags > environment > --gateway manifest > defaults.\n\n${lines.join('\n')}\n`;
}

export function gatewayContribution(file: string): GatewayContribution {
  // The manifest reader (YAML, schema validation) is loaded only when --gateway is given.
  const { loadGatewayCaptureSettings } = require('../gateway') as typeof import('../gateway');
  const settings = loadGatewayCaptureSettings(file);
  return {
    gatewayName: settings.gatewayName,
    gatewayNamespace: settings.gatewayNamespace,
    maxBytes: settings.captureBody.maxBytes,
    includeContentTypes: settings.captureBody.includeContentTypes,
    otlpEndpoint: settings.otlp.endpoint,
    otlpHeaders: settings.otlp.headers,
  };
}

export async function runServeCommand(argv: string[], io: CommandIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(serveHelp());
    return 0;
  }
  let config;
  try {
    config = loadConfig({ argv, env: io.env, loadGateway: gatewayContribution });
  } catch (err) {
    if (err instanceof CaptureError) {
      io.stderr.write(`egress-capture: ${err.code}: ${err.message}\n`);
      return 2;
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
  io.stderr.write(`egress-capture serving on node ${process.version}: gRPC ${grpcShown}, admin :${service.adminPort}\n`);
  return new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'signal received; shutting down');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      service.stop().then(
        () => {
          log.flush();
          resolve(0);
        },
        (err: unknown) => {
          log.error({ err: describeError(err) }, 'shutdown failed');
          log.flush();
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
