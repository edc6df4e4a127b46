/** Where a listener binds. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** A Unix domain socket, for an ext_proc server running as a sidecar beside Envoy. */
export interface UnixSocketAddress {
  unixPath: string;
}

/** An address as the listen flags take it: host:port, [v6]:port, or unix:/path. */
export function formatListen(address: ListenAddress | UnixSocketAddress): string {
  if ('unixPath' in address) return `unix:${address.unixPath}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
