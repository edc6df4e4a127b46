/** Where a listener binds. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** A Unix domain socket, for an ext_proc server running as a sidecar beside Envoy. */
export interface UnixSocketAddress {
  unixPath: string;
}
