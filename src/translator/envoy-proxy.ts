// EnvoyProxy: per-gateway proxy deployment settings (Service type, host aliases, extra trust,
// drain time). Referenced from the Gateway's infrastructure.parametersRef.
import { formatGatewayDuration } from '../gateway';
import { GatewayContext } from './gateway-context';
import { MIN_DRAIN_DURATION_SECONDS, MIN_DRAIN_TIMEOUT_MS } from './options';
import { ENVOY_GATEWAY_VERSION, output, OutputObject } from './output-object';

/** Image for the step that appends extra CAs to the system bundle; it must ship a CA bundle. */
export const TRUST_MERGE_IMAGE = 'docker.io/library/alpine:3.22';
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export function buildEnvoyProxy(ctx: GatewayContext): OutputObject {
  const spec = ctx.gateway.spec;
  const comment: string[] = [];
  const deployment: Record<string, unknown> = {};

  const trust = spec.upstreamTLS.additionalTrustBundleSecretRef;
  if (trust) {
    // Appending to the system bundle (instead of Backend caCertificateRefs) keeps public CAs trusted.
    deployment.initContainers = [
      {
        name: 'egress-capture-trust-merge',
        image: TRUST_MERGE_IMAGE,
        command: ['sh', '-c'],
        args: [`cat ${SYSTEM_BUNDLE} > /merged/ca-certificates.crt && ` + 'for f in /extra/*; do [ -f "$f" ] && { echo; cat "$f"; } >> /merged/ca-certificates.crt; done'],
        volumeMounts: [
          { name: 'egress-capture-trust-merged', mountPath: '/merged' },
          { name: 'egress-capture-extra-trust', mountPath: '/extra', readOnly: true },
        ],
      },
    ];
    deployment.pod = {
      volumes: [
        { name: 'egress-capture-trust-merged', emptyDir: {} },
        { name: 'egress-capture-extra-trust', secret: { secretName: trust.name } },
      ],
    };
    deployment.container = {
      volumeMounts: [{ name: 'egress-capture-trust-merged', mountPath: SYSTEM_BUNDLE, subPath: 'ca-certificates.crt', readOnly: true }],
    };
    comment.push(
      ctx.note(
        `upstreamTLS.additionalTrustBundleSecretRef: Secret ${JSON.stringify(trust.name)} must exist in the namespace where Envoy Gateway runs the proxy pods` +
          (trust.namespace ? ` (the reference names namespace ${trust.namespace}; pods cannot mount Secrets across namespaces)` : '') +
          '; restart the proxy after changing it',
      ),
    );
  }
  if (spec.upstreamTLS.hostAliases.length > 0) {
    // KubernetesPodSpec has no hostAliases field, so it goes in as a strategic-merge patch.
    deployment.patch = {
      type: 'StrategicMerge',
      value: { spec: { template: { spec: { hostAliases: spec.upstreamTLS.hostAliases.map((a) => ({ ip: a.ip, hostnames: [...a.hostnames] })) } } } },
    };
  }

  const kubernetes: Record<string, unknown> = { envoyService: { type: 'ClusterIP' } };
  if (Object.keys(deployment).length > 0) kubernetes.envoyDeployment = deployment;
  comment.unshift(
    `Proxy settings for EgressGateway ${ctx.namespace}/${ctx.gateway.metadata.name}: in-cluster Service only, drain as long`,
    'as requestTimeout so in-flight requests finish during a rollout.',
  );
  return output(
    {
      apiVersion: ENVOY_GATEWAY_VERSION,
      kind: 'EnvoyProxy',
      metadata: { name: ctx.objectName, namespace: ctx.namespace },
      spec: {
        provider: { type: 'Kubernetes', kubernetes },
        shutdown: {
          drainTimeout: formatGatewayDuration(Math.max(spec.requestTimeoutMs, MIN_DRAIN_TIMEOUT_MS)),
          minDrainDuration: `${MIN_DRAIN_DURATION_SECONDS}s`,
        },
      },
    },
    ...comment,
  );
}
