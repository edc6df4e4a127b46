/**
 * A small OTLP/HTTP logs receiver for the service tests: plain node:http,
 * JSON-encoded OTLP decoded by hand (gzip undone with zlib), recording the
 * egress_capture.capture_id of every record it accepts.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';

/** JSON encoding, so the tests decode requests without protos. */
export const OTLP_JSON_ENV = { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };

export interface Receiver {
  url: string;
  ids: string[];
  /** Every accepted request's OTLP JSON, decoded, in arrival order. */
  payloads: string[];
  /** Arrival time and status of every request. */
  requests: Array<{ at: number; status: number }>;
  respond: (status: number, headers?: Record<string, string>) => void;
  close: () => Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  let next: { status: number; headers: Record<string, string> } = { status: 200, headers: {} };
  const receiver: Omit<Receiver, 'url' | 'close'> = {
    ids: [],
    payloads: [],
    requests: [],
    respond: (status, extra = {}) => {
      next = { status, headers: extra };
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { status, headers: extra } = next;
      receiver.requests.push({ at: Date.now(), status });
      if (status === 200) {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        receiver.payloads.push(body.toString('utf8'));
        const decoded = JSON.parse(body.toString('utf8')) as {
          resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<{ attributes: Array<{ key: string; value: { stringValue?: string } }> }> }> }>;
        };
        for (const resourceLogs of decoded.resourceLogs) {
          for (const scopeLogs of resourceLogs.scopeLogs) {
            for (const record of scopeLogs.logRecords) {
              const id = record.attributes.find((attribute) => attribute.key === 'egress_capture.capture_id')?.value.stringValue;
              if (id !== undefined) receiver.ids.push(id);
            }
          }
        }
      }
      res.writeHead(status, { 'content-type': 'application/json', ...extra });
      res.end(status === 200 ? '{}' : '{"code":14,"message":"unavailable"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    ...receiver,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  } as Receiver;
}

/** An EgressGateway manifest whose spec.otlp.endpoint is `endpoint`, for --gateway. */
export function writeOtlpGateway(dir: string, endpoint: string): string {
  const file = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(
    file,
    [
      'apiVersion: clrk.apoxy.dev/v1alpha1',
      'kind: EgressGateway',
      'metadata:',
      '  name: otlp-test',
      '  namespace: default',
      'spec:',
      '  defaultPolicy: allow-all',
      '  listeners:',
      '  - name: proxy',
      '    protocol: HTTP',
      '    port: 3128',
      '  otlp:',
      `    endpoint: ${endpoint}`,
      '',
    ].join('\n'),
  );
  return file;
}
