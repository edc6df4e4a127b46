// The translator's core: a pure function from input resources to output resources, warnings
// and a status summary. No I/O; the command wraps it.
import {
  Backend,
  DocumentProblem,
  EgressGateway,
  EgressListener,
  RouteAttachment,
  Sourced,
  EgressRouter,
  TcpRoute,
  UserRoute,
  describeObject,
  resolveRouteReferences,
  routeNamespace,
} from '../gateway';
import { buildCaptureConfig, captureSettingsProblems } from './capture-config';
import { describeAge, resolveContests } from './conflicts';
import { GatewayPlan, planGateway } from './gateway-plan';
import { buildEnvoyBootstrap } from './envoy-bootstrap';
import { buildGatewayResources } from './gateway-resources';
import { buildGatewayClass } from './gateway-class';
import { TranslateOptions } from './options';
import { OutputObject } from './output-object';
import { StatusEntry, statusSortKey } from './status';
import { judgeUserRoutes, renderUserRoutes } from './user-routes';
import { FROM_EGRESS_ROUTER, isFromEgressRouter, translateEgressRouter } from './egress-router';
import { buildLockdownPolicies } from './lockdown';

export interface TranslateInput {
  gateways: Array<Sourced<EgressGateway>>;
  backends: Array<Sourced<Backend>>;
  routes: Array<Sourced<TcpRoute>>;
  /** Gateway API routes parented on EgressGateway listeners. */
  userRoutes?: Array<Sourced<UserRoute>>;
  /** OpenShift EgressRouters, each translated into a deny-all gateway with one route per rule. */
  egressRouters?: Array<Sourced<EgressRouter>>;
}

export interface TranslateResult {
  objects: Array<OutputObject<Record<string, unknown>>>;
  warnings: string[];
  status: StatusEntry[];
  /** Input errors; when non-empty, `objects` is empty. */
  problems: DocumentProblem[];
}

const key = (meta: { namespace?: string; name: string }) => (meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name);

function listenerKey(gateway: EgressGateway, listener: EgressListener): string {
  return `${gateway.metadata.namespace}/${gateway.metadata.name}/${listener.name}`;
}

/** Does the listener's allowedRoutes admit this input TCPRoute? */
function admission(attachment: RouteAttachment): { allowed: boolean; message: string } {
  const allowed = attachment.listener.allowedRoutes;
  const from = allowed?.namespaces?.from ?? 'Same';
  const routeNs = routeNamespace(attachment.route.resource);
  const gatewayNs = attachment.gateway.resource.metadata.namespace;
  if (from === 'Same' && routeNs !== gatewayNs) {
    return { allowed: false, message: `listener allows routes from namespace ${gatewayNs} only (allowedRoutes.namespaces.from Same), route is in ${routeNs}` };
  }
  const kinds = allowed?.kinds ?? [];
  if (kinds.length > 0) {
    const groups = new Set([undefined, '', 'gateway.apoxy.dev', 'gateway.networking.k8s.io']);
    if (!kinds.some((k) => k.kind === 'TCPRoute' && groups.has(k.group))) {
      return { allowed: false, message: `listener allowedRoutes.kinds (${kinds.map((k) => k.kind).join(', ')}) does not include TCPRoute` };
    }
  }
  return { allowed: true, message: '' };
}

/** A dynamic forward proxy decides the destination itself, so it cannot share a rule. */
function dynamicProxyRuleProblems(routes: Array<Sourced<TcpRoute>>, backends: Map<string, Backend>): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  for (const sourced of routes) {
    sourced.resource.spec.rules.forEach((rule, r) => {
      const dynamic = rule.backendRefs.findIndex((ref) => backends.get(ref.name)?.spec.dynamicProxy);
      if (dynamic >= 0 && rule.backendRefs.length > 1) {
        problems.push({
          source: sourced.source,
          resource: describeObject('TCPRoute', sourced.resource.metadata),
          problem: { path: `spec.rules[${r}].backendRefs[${dynamic}]`, message: 'a dynamicProxy Backend must be the only backendRef of its rule' },
        });
      }
    });
    if (sourced.resource.spec.rules.length > 1) {
      problems.push({
        source: sourced.source,
        resource: describeObject('TCPRoute', sourced.resource.metadata),
        problem: { path: 'spec.rules', message: 'a TCPRoute has no matches, so only one rule can take effect; merge the backendRefs into one rule' },
      });
    }
  }
  return problems;
}

export function translate(input: TranslateInput, options: TranslateOptions): TranslateResult {
  const status: StatusEntry[] = [];
  const warnings: string[] = [];

  // 0. EgressRouters become gateways, Backends and routes of their own.
  const routers = (input.egressRouters ?? []).map(translateEgressRouter);
  const routerComments = new Map<string, string[]>();
  for (const router of routers) {
    status.push(router.status);
    for (const line of router.notExpressible) warnings.push(`${router.status.kind} ${router.status.name}: cannot be expressed in Envoy: ${line}`);
    for (const line of router.operatorProvides) warnings.push(`${router.status.kind} ${router.status.name}: the operator must provide ${line}`);
    routerComments.set(router.status.name, [
      `Translated from EgressRouter ${router.status.name} (mode Redirect): one listener per TCP/UDP redirect rule, routed to`,
      'its destinationIP on targetPort (else port); every other port is closed (deny-all).',
      ...router.notExpressible.map((line) => `NOTE: cannot be expressed in Envoy: ${line}`),
      ...router.operatorProvides.map((line) => `NOTE: the operator must provide ${line}`),
    ]);
  }
  const inputGateways = [...input.gateways, ...routers.flatMap((r) => (r.gateway ? [r.gateway] : []))];
  const inputBackends = [...input.backends, ...routers.flatMap((r) => r.backends)];
  const inputRoutes = [...input.routes, ...routers.flatMap((r) => r.routes)];
  // Backends are cluster-scoped and found by name: one of the input's must not take a rule's.
  const routerBackends = new Map(routers.flatMap((r) => r.backends.map((b) => [b.resource.metadata.name, r.status.name] as const)));
  const nameProblems: DocumentProblem[] = input.backends
    .filter((b) => routerBackends.has(b.resource.metadata.name))
    .map((b) => ({
      source: b.source,
      resource: describeObject('Backend', b.resource.metadata),
      problem: {
        path: 'metadata.name',
        message: `${JSON.stringify(b.resource.metadata.name)} is the name given to a redirect rule of EgressRouter ${routerBackends.get(b.resource.metadata.name)}; rename this Backend`,
      },
    }));

  // 1. Two inputs with one identity: the oldest wins.
  const gatewayContests = resolveContests(
    inputGateways,
    (g) => key(g.resource.metadata),
    (g) => g.resource.metadata,
  );
  const backendContests = resolveContests(
    inputBackends,
    (b) => b.resource.metadata.name,
    (b) => b.resource.metadata,
  );
  const gateways: Array<Sourced<EgressGateway>> = [];
  const backends: Array<Sourced<Backend>> = [];
  for (const [contests, kind, into] of [
    [gatewayContests, 'EgressGateway', gateways],
    [backendContests, 'Backend', backends],
  ] as const) {
    for (const [name, contest] of contests) {
      (into as Array<Sourced<unknown>>).push(contest.winner);
      // What an EgressRouter became is reported as the router's status, not as inputs of their own.
      if (!isFromEgressRouter(contest.winner.resource)) status.push({ kind, name, state: 'Accepted', reason: 'Accepted', message: '' });
      for (const loser of contest.losers) {
        const message = `another ${kind} named ${name} (${describeAge(contest.winner.resource.metadata)}, ${contest.winner.source.file} document ${contest.winner.source.document}) is older; this one (${describeAge(loser.resource.metadata)}, ${loser.source.file} document ${loser.source.document}) is ignored`;
        status.push({ kind, name, state: 'Conflicted', reason: 'DuplicateName', message });
        warnings.push(`${kind} ${name}: conflicted: ${message}`);
      }
    }
  }
  gateways.sort((a, b) => key(a.resource.metadata).localeCompare(key(b.resource.metadata)));
  const lostRouters = new Set<string>();
  for (const router of routers) {
    if (router.gateway && !gateways.includes(router.gateway)) {
      lostRouters.add(router.status.name);
      const message = `EgressGateway ${router.status.name} has the name the translation needs and is older (or given first); the router is not translated`;
      Object.assign(router.status, { state: 'Conflicted', reason: 'DuplicateName', message });
      router.status.conditions = [{ type: 'Available', status: 'False', reason: 'DuplicateName', message }, ...(router.status.conditions ?? []).filter((c) => c.type !== 'Available')];
      warnings.push(`EgressRouter ${router.status.name}: conflicted: ${message}`);
    }
  }

  // 2. References must resolve; these are input errors.
  const routes = inputRoutes.filter((r) => !lostRouters.has(r.resource.metadata.annotations?.[FROM_EGRESS_ROUTER] ?? ''));
  const { attachments, problems } = resolveRouteReferences(gateways, backends, routes);
  problems.push(...nameProblems);
  problems.push(...dynamicProxyRuleProblems(routes, new Map(backends.map((b) => [b.resource.metadata.name, b.resource]))));
  if (options.target === 'envoy-gateway') problems.push(...captureSettingsProblems(gateways, options));
  const userJudgement = options.target === 'envoy-gateway' ? judgeUserRoutes(gateways, input.userRoutes ?? []) : undefined;
  if (userJudgement) {
    problems.push(...userJudgement.problems);
  } else {
    for (const { resource } of input.userRoutes ?? []) {
      warnings.push(`${describeObject(resource.kind, resource.metadata)}: the user's own Gateway API routes are translated for --target envoy-gateway only; ignored`);
    }
  }
  if (problems.length > 0) return { objects: [], warnings, status: [], problems };

  // 3. allowedRoutes, then one route per listener (a TCPRoute has no hostname to tell them apart).
  const admitted: RouteAttachment[] = [];
  for (const attachment of attachments) {
    const parent = listenerKey(attachment.gateway.resource, attachment.listener);
    const name = key({ ...attachment.route.resource.metadata, namespace: routeNamespace(attachment.route.resource) });
    const verdict = admission(attachment);
    if (attachment.listener.allowedRoutes?.namespaces?.from === 'Selector') {
      warnings.push(`TCPRoute ${name} -> ${parent}: allowedRoutes namespace selectors cannot be evaluated offline; the route is accepted`);
    }
    if (!verdict.allowed) {
      status.push({ kind: 'TCPRoute', name, parent, state: 'NotAccepted', reason: 'NotAllowedByListeners', message: verdict.message });
      warnings.push(`TCPRoute ${name} -> ${parent}: not accepted: ${verdict.message}`);
      continue;
    }
    admitted.push(attachment);
  }
  const routeContests = resolveContests(
    admitted,
    (a) => listenerKey(a.gateway.resource, a.listener),
    (a) => ({ ...a.route.resource.metadata, namespace: routeNamespace(a.route.resource) }),
  );
  const winnersByGateway = new Map<string, Map<string, RouteAttachment>>();
  for (const [parent, contest] of routeContests) {
    const winner = contest.winner;
    const winnerName = key({ ...winner.route.resource.metadata, namespace: routeNamespace(winner.route.resource) });
    const gatewayKey = key(winner.gateway.resource.metadata);
    if (!winnersByGateway.has(gatewayKey)) winnersByGateway.set(gatewayKey, new Map());
    winnersByGateway.get(gatewayKey)!.set(winner.listener.name, winner);
    if (!isFromEgressRouter(winner.route.resource)) status.push({ kind: 'TCPRoute', name: winnerName, parent, state: 'Accepted', reason: 'Accepted', message: '' });
    for (const loser of contest.losers) {
      const name = key({ ...loser.route.resource.metadata, namespace: routeNamespace(loser.route.resource) });
      const message = `listener already claimed by TCPRoute ${winnerName} (${describeAge(winner.route.resource.metadata)}); this route (${describeAge(loser.route.resource.metadata)}) loses: oldest first, then namespace/name`;
      status.push({ kind: 'TCPRoute', name, parent, state: 'Conflicted', reason: 'RouteConflict', message });
      warnings.push(`TCPRoute ${name} -> ${parent}: conflicted: ${message}`);
    }
  }
  // 3b. The user's routes, now that the translator's own claims on TCP/UDP listeners are known.
  const userRoutes = userJudgement
    ? renderUserRoutes(userJudgement, (parentKey) => {
        const [namespace, gatewayName, listenerName] = parentKey.split('/');
        const gatewayKey = `${namespace}/${gatewayName}`;
        const winner = winnersByGateway.get(gatewayKey)?.get(listenerName!);
        if (winner) return `TCPRoute ${key({ ...winner.route.resource.metadata, namespace: routeNamespace(winner.route.resource) })}`;
        const gateway = gateways.find((g) => key(g.resource.metadata) === gatewayKey)!.resource;
        const listener = gateway.spec.listeners.find((l) => l.name === listenerName)!;
        // allow-all forwards a TCP listener's connections to their original destination itself.
        if (gateway.spec.defaultPolicy === 'allow-all' && listener.protocol === 'TCP') return 'defaultPolicy allow-all (original-destination forwarding)';
        return undefined;
      })
    : undefined;
  status.push(...(userRoutes?.status ?? []));
  warnings.push(...(userRoutes?.warnings ?? []));
  status.sort((a, b) => statusSortKey(a).localeCompare(statusSortKey(b)));

  // 4. Render.
  const plans: GatewayPlan[] = gateways.map((g) => {
    const plan = planGateway(g, winnersByGateway.get(key(g.resource.metadata)) ?? new Map());
    const origin = isFromEgressRouter(g.resource) ? routerComments.get(key(g.resource.metadata)) : undefined;
    return origin ? { ...plan, comment: origin } : plan;
  });
  for (const plan of plans) {
    for (const l of plan.listeners) {
      const held = userRoutes?.held.has(`${key(plan.gateway.resource.metadata)}/${l.listener.name}`) ?? false;
      if (l.shape === 'udp' && !l.route && !held && plan.gateway.resource.spec.defaultPolicy === 'allow-all') {
        warnings.push(
          `EgressGateway ${key(plan.gateway.resource.metadata)}: listener ${l.listener.name}: defaultPolicy allow-all cannot be expressed for UDP (no original destination); attach a TCPRoute or UDPRoute to forward it`,
        );
      }
    }
  }
  let objects: Array<OutputObject<Record<string, unknown>>>;
  if (options.target === 'envoy') {
    objects = plans.map((plan) => buildEnvoyBootstrap(plan, options, warnings));
  } else {
    const kube: OutputObject[] = plans.length > 0 ? [buildGatewayClass()] : [];
    const shared = new Map<string, OutputObject>();
    for (const plan of plans) {
      kube.push(...buildGatewayResources(plan, options, warnings, shared));
    }
    const capture =
      plans.length > 0
        ? buildCaptureConfig(
            plans.map((plan) => plan.gateway.resource),
            options,
          )
        : [];
    const lockdown = options.lockdown ? buildLockdownPolicies(plans, options.lockdown, warnings) : [];
    objects = [...kube, ...(userRoutes?.objects ?? []), ...lockdown, ...capture, ...shared.values()];
  }
  return { objects, warnings, status, problems: [] };
}
