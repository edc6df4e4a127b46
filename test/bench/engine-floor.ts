/**
 * The resident memory below which the capture service cannot go while it
 * embeds its store: Node with the embedded ClickHouse opened exactly as
 * `serve` opens it (its library, session, server settings and schema on an
 * empty data directory), and nothing else: no gRPC server, no workers, no
 * spool. The bench prints it beside the service's own idle RSS, so the idle
 * target is read against what the engine alone keeps mapped (mostly its
 * code: README, "Memory").
 *
 * measureEngineFloor() runs this file as its own process, on the pinned
 * Node with the image's flags, as the service is run; the child prints one
 * JSON line.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { imageNodeFlags } from '../support/image-command';
import { processMemoryMiB } from './proc-stats';
import { NODE_BIN, REPO_ROOT } from './server-process';

/** What the child prints: RSS after the store opened, split as the service's breakdown is. */
export interface EngineFloor {
  rssMiB: number;
  fileMiB: number;
  anonMiB: number;
  /** Node alone, before the configuration's and the engine's modules are loaded. */
  nodeRssMiB: number;
}

/**
 * Runs the measurement in a process of its own and returns what it printed;
 * undefined (with the reason logged) when it could not be taken, so a side
 * figure never stops the bench. The data directory is the parent's, removed
 * here whatever happened to the child.
 */
export function measureEngineFloor(log: (line: string) => void): EngineFloor | undefined {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-capture-floor-'));
  try {
    const out = execFileSync(NODE_BIN, [...imageNodeFlags(), __filename, dataDir], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    return JSON.parse(out.trim().split('\n').pop()!) as EngineFloor;
  } catch (err) {
    log(`  engine floor: not measured (${(err as Error).message.split('\n')[0]})`);
    return undefined;
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(dataDir: string): Promise<void> {
  const nodeRssMiB = processMemoryMiB(process.pid).rssMiB;
  // Loaded only now, so the figure above is Node's alone: the store's module loads the engine's library.
  const { DEFAULTS } = require('../../src/config/defaults') as typeof import('../../src/config/defaults');
  const { EmbeddedStore } = require('../../src/sinks/clickhouse/embedded-store') as typeof import('../../src/sinks/clickhouse/embedded-store');
  const store = new EmbeddedStore({ dataDir, ttlDays: DEFAULTS.ttlDays, memory: DEFAULTS });
  try {
    // Read as the service's idle figure is: as soon as the store is open.
    await store.open();
    const memory = processMemoryMiB(process.pid);
    const floor: EngineFloor = { rssMiB: memory.rssMiB, fileMiB: memory.fileMiB, anonMiB: memory.anonMiB, nodeRssMiB };
    process.stdout.write(`${JSON.stringify(floor)}\n`);
  } finally {
    await store.close();
  }
}

if (require.main === module) {
  main(process.argv[2]!).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
