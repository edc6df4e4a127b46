/**
 * The real service in a child process (bin/egress-capture.js on the pinned
 * Node): for kill -9, and for the OTLP sink, whose exporter loads node:http
 * with a dynamic import() that jest's module sandbox refuses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { DeliveryStatus } from '../../src/sinks/delivery/delivery-hub';
import { exchange, headers, type rawClient } from '../support/raw-extproc-client';
import { randomListenPort } from '../support/listen-port';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const BIN = path.join(REPO_ROOT, 'bin', 'egress-capture.js');

export interface ServiceProcess {
  child: ChildProcess;
  grpc: string;
  admin: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts `serve` on loopback ports and waits until it serves: gRPC on `grpcPort`
 * (random when not given, retrying on a port clash) and admin on the next port.
 */
export async function startService(dataDir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, fixedGrpcPort?: number): Promise<ServiceProcess> {
  for (let attempt = 0; ; attempt++) {
    const grpcPort = fixedGrpcPort ?? randomListenPort();
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--data-dir', dataDir, '--grpc-listen', `127.0.0.1:${grpcPort}`, '--admin-listen', `127.0.0.1:${grpcPort + 1}`, '--log-level', 'warn', ...args],
      { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!stderr.includes('serving on node') && child.exitCode === null && Date.now() < deadline) await sleep(50);
    if (stderr.includes('serving on node')) return { child, grpc: `127.0.0.1:${grpcPort}`, admin: `http://127.0.0.1:${grpcPort + 1}`, exited, stderr: () => stderr };
    child.kill('SIGKILL');
    await exited;
    if (attempt >= 2 || fixedGrpcPort !== undefined || !/BIND/.test(stderr)) throw new Error(`server did not start:\n${stderr}`);
  }
}

export async function serviceStatus(admin: string): Promise<DeliveryStatus> {
  return (await (await fetch(`${admin}/status`)).json()) as DeliveryStatus;
}

export async function adminQuery<T>(admin: string, sql: string): Promise<T[]> {
  const text = await (await fetch(`${admin}/query`, { method: 'POST', body: sql })).text();
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** One header-only exchange with the given request id. */
export function simpleExchange(client: ReturnType<typeof rawClient>, authority: string, requestId: string): Promise<unknown> {
  return exchange(client, [
    {
      request_headers: {
        headers: headers([
          [':method', 'POST'],
          [':path', `/r/${requestId}`],
          [':authority', authority],
          ['x-request-id', requestId],
        ]),
        end_of_stream: true,
      },
      metadata_context: {},
    },
    { response_headers: { headers: headers([[':status', '200']]), end_of_stream: true }, metadata_context: {} },
  ]);
}
