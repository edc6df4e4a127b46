import * as net from 'node:net';

/**
 * A port for a test server that must be told its port up front (a child
 * process given --grpc-listen, a service restarted on the same port). Picked
 * below Linux's ephemeral range (32768–60999 by default), where the kernel
 * hands out client ports: a random pick up there can collide with any open
 * connection on the machine. Callers still retry on a bind failure, since two
 * test files may pick the same port.
 */
export function randomListenPort(): number {
  return 20000 + Math.floor(Math.random() * 12000);
}

/** A port the kernel just gave out and took back: free now, for a server started right after. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
