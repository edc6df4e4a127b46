import * as net from 'node:net';

/**
 * Ports for test servers that must be told their port up front (a child
 * process given --grpc-listen, a service restarted on the same port) come from
 * below Linux's ephemeral range (32768–60999 by default), where the kernel
 * hands out client ports and `listen(0)`: a pick up there can collide with any
 * open connection on the machine.
 *
 * Jest runs test files in parallel worker processes, and a child service takes
 * a second or more between our free-port check and its own listen(): two files
 * picking from the same range did collide (CI saw EADDRINUSE on a port checked
 * free moments before). So each worker draws from its own slice, and within a
 * worker the files run one after another. Callers still retry on a bind
 * failure, for whatever else on the machine might hold the port.
 */
const RANGE_START = 20000;
const RANGE_SIZE = 12000;
const SLICES = 8;
const SLICE_SIZE = RANGE_SIZE / SLICES;

export function randomListenPort(): number {
  const worker = Number(process.env['JEST_WORKER_ID'] ?? '1');
  const slice = (Number.isInteger(worker) && worker > 0 ? worker - 1 : 0) % SLICES;
  // The last port of a slice is never picked, so `port + 1` (a service's admin port) stays in the slice.
  return RANGE_START + slice * SLICE_SIZE + Math.floor(Math.random() * (SLICE_SIZE - 1));
}

/** A port the kernel just gave out and took back: free now, for a server started right after. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
