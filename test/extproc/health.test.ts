/**
 * grpc.health.v1 on the ext_proc port: Envoy's (or Kubernetes') gRPC health
 * checks see SERVING while the service runs and NOT_SERVING once it drains.
 */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';

const HEALTH_PROTO = path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto', 'health', 'v1', 'health.proto');

type HealthClient = grpc.Client & { check(request: { service: string }, callback: (err: grpc.ServiceError | null, response?: { status: string }) => void): void };

describe('gRPC health service', () => {
  let harness: CaptureHarness;
  let client: HealthClient;

  beforeAll(async () => {
    harness = await startCaptureHarness();
    const definition = protoLoader.loadSync(HEALTH_PROTO, { keepCase: true, enums: String });
    const Health = (grpc.loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } }).grpc.health.v1.Health;
    client = new Health(harness.grpcAddress, grpc.credentials.createInsecure()) as unknown as HealthClient;
  });

  afterAll(async () => {
    client.close();
    await harness.stop().catch(() => undefined);
  });

  const check = (service: string): Promise<string> => new Promise((resolve, reject) => client.check({ service }, (err, response) => (err ? reject(err) : resolve(response!.status))));

  it('reports SERVING for the server and for ExternalProcessor', async () => {
    expect(await check('')).toBe('SERVING');
    expect(await check('envoy.service.ext_proc.v3.ExternalProcessor')).toBe('SERVING');
  });

  it('reports NOT_SERVING while draining', async () => {
    const stopping = harness.service.stop();
    // The drain flips health first, then waits for open streams (there are none).
    const status = await check('').catch(() => 'UNAVAILABLE');
    expect(['NOT_SERVING', 'UNAVAILABLE']).toContain(status);
    await stopping;
  });
});
