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

/** Whether a server could listen on `port` on loopback right now. */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port free now, for a server started soon after (a child process given
 * the port). Not one the kernel hands out with listen(0): that comes from the
 * ephemeral range, where any connection the tests open in the meantime (a
 * probe, a client) may take it as its source port before the child listens.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = randomListenPort();
    // A port handed out lately may not be bound yet (two ports for one child): never the same one twice.
    if (handedOut.has(port) || !(await canBind(port))) continue;
    handedOut.add(port);
    return port;
  }
}

const handedOut = new Set<number>();
