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
