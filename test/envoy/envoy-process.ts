/**
 * A real Envoy as a child process: started on a bootstrap file, its admin
 * address read from `--admin-address-path`, the ports its listeners bound read
 * from `/listeners`, its ext_proc statistics read from `/stats`, and stopped
 * with SIGTERM. Envoy logs go to a file kept for failure messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildBootstrap, type BootstrapOptions } from './envoy-bootstrap';

export interface EnvoyProcess {
  version: string;
  child: ChildProcess;
  adminUrl: string;
  /** Listener name → bound port. */
  ports: Record<string, number>;
  dir: string;
  /** The last lines of Envoy's log (for failure messages). */
  logTail(lines?: number): string;
  /** Counter and gauge values by full stat name. */
  stats(filter?: RegExp): Promise<Record<string, number>>;
  /** `http.<listener>.ext_proc.<name>` counters of one listener, names shortened to `<name>`. */
  extProcStats(listener: string): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A bootstrap made elsewhere (e.g. by the translator), started as it is. Its
 * admin address should use port 0 (the bound one is read from
 * `--admin-address-path`); start-up waits until every named listener is bound.
 */
export interface GivenBootstrap {
  bootstrap: Record<string, unknown>;
  listeners: string[];
}

export async function startEnvoy(binary: string, version: string, options: BootstrapOptions | GivenBootstrap, extraArgs: string[] = []): Promise<EnvoyProcess> {
  const given = 'bootstrap' in options;
  const bootstrap = given ? options.bootstrap : buildBootstrap(options);
  const listenerNames = given ? options.listeners : options.listeners.map((l) => l.name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `egress-envoy-${version}-`));
  const bootstrapPath = path.join(dir, 'bootstrap.json');
  const adminPath = path.join(dir, 'admin-address');
  const logPath = path.join(dir, 'envoy.log');
  fs.writeFileSync(bootstrapPath, JSON.stringify(bootstrap, null, 2));
  const log = fs.openSync(logPath, 'w');
  const child = spawn(
    binary,
    [
      '-c',
      bootstrapPath,
      '--admin-address-path',
      adminPath,
      // Several Envoys may run at once (two jest workers): no shared-memory hot restart.
      '--disable-hot-restart',
      '--concurrency',
      '1',
      '--log-level',
      'warn',
      '--log-path',
      logPath,
      ...extraArgs,
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const logTail = (lines = 30): string => {
    try {
      return fs.readFileSync(logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };

  const deadline = Date.now() + 20_000;
  let adminUrl = '';
  let ports: Record<string, number> = {};
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Envoy ${version} exited before it was ready:\n${logTail()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Envoy ${version} not ready after 20 s:\n${logTail()}`);
    }
    if (!adminUrl && fs.existsSync(adminPath)) {
      const text = fs.readFileSync(adminPath, 'utf8').trim();
      if (text !== '') adminUrl = `http://${text}`;
    }
    if (adminUrl) {
      try {
        const ready = await fetch(`${adminUrl}/ready`);
        if (ready.status === 200) {
          ports = await listenerPorts(adminUrl);
          if (listenerNames.every((name) => ports[name])) break;
        }
      } catch {
        // admin not answering yet
      }
    }
    await sleep(50);
  }

  const stats = async (filter?: RegExp): Promise<Record<string, number>> => {
    const url = `${adminUrl}/stats?format=json${filter ? `&filter=${encodeURIComponent(filter.source)}` : ''}`;
    const body = (await (await fetch(url)).json()) as { stats: Array<{ name: string; value?: number }> };
    const out: Record<string, number> = {};
    for (const stat of body.stats) if (typeof stat.value === 'number') out[stat.name] = stat.value;
    return out;
  };
  return {
    version,
    child,
    adminUrl,
    ports,
    dir,
    logTail,
    stats,
    async extProcStats(listener: string): Promise<Record<string, number>> {
      const prefix = `http.${listener}.ext_proc.`;
      const all = await stats(new RegExp(`^http\\.${listener}\\.ext_proc\\.`));
      return Object.fromEntries(Object.entries(all).map(([name, value]) => [name.slice(prefix.length), value]));
    },
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function listenerPorts(adminUrl: string): Promise<Record<string, number>> {
  const body = (await (await fetch(`${adminUrl}/listeners?format=json`)).json()) as {
    listener_statuses?: Array<{ name: string; local_address?: { socket_address?: { port_value?: number } } }>;
  };
  const ports: Record<string, number> = {};
  for (const status of body.listener_statuses ?? []) {
    const port = status.local_address?.socket_address?.port_value;
    if (port) ports[status.name] = port;
  }
  return ports;
}
