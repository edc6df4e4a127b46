// The ext_proc request attributes the capture service reads from every request.
export const CAPTURE_ATTRIBUTES: readonly string[] = [
  'request.id',
  'request.time',
  'source.address',
  'source.port',
  'destination.address',
  'connection.requested_server_name',
  // Carries the per-route egress-capture-* annotations (gateway identity, capture bounds).
  'xds.route_metadata',
];
