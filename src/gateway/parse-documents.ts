// Turns multi-document YAML into typed resources, collecting every problem with the document it
// came from. Kinds other than the ones we read are reported back as ignored, not as errors, so
// a manifest bundle can be fed in as is; so are Gateway API routes that name no EgressGateway.
import { parseAllDocuments } from 'yaml';
import { parseBackend } from './backend';
import { DEFAULT_NAMESPACE } from './defaults';
import { parseEgressGateway } from './egress-gateway';
import { EgressRouter, parseEgressRouter } from './egress-router';
import { isPlainObject } from './field-schema';
import { formatProblem, Problem } from './problems';
import { parseTcpRoute } from './tcp-route';
import { Backend, EgressGateway, SourceRef, Sourced, TcpRoute } from './types';
import { isUserRouteDocument, namesEgressGateway, parseUserRoute, UserRoute } from './user-route';

export interface DocumentProblem {
  source: SourceRef;
  /** "EgressGateway sandbox/agents" or "document" when the kind is unknown. */
  resource: string;
  problem: Problem;
}

export interface ParsedResources {
  gateways: Array<Sourced<EgressGateway>>;
  backends: Array<Sourced<Backend>>;
  routes: Array<Sourced<TcpRoute>>;
  /** Gateway API routes whose parentRefs name an EgressGateway. */
  userRoutes: Array<Sourced<UserRoute>>;
  egressRouters: Array<Sourced<EgressRouter>>;
  problems: DocumentProblem[];
  /** Documents left out, with why: "v1 Service default/x (a.yaml document 3): not an input kind". */
  ignored: string[];
}

export function emptyParsedResources(): ParsedResources {
  return { gateways: [], backends: [], routes: [], userRoutes: [], egressRouters: [], problems: [], ignored: [] };
}

export function describeSource(source: SourceRef): string {
  return `${source.file} document ${source.document}`;
}

export function formatDocumentProblem(p: DocumentProblem): string {
  return `${describeSource(p.source)} (${p.resource}): ${formatProblem(p.problem)}`;
}

export function describeObject(kind: string, metadata: { name?: unknown; namespace?: unknown } | undefined): string {
  const name = typeof metadata?.name === 'string' ? metadata.name : '<unnamed>';
  const namespace = typeof metadata?.namespace === 'string' ? `${metadata.namespace}/` : '';
  return `${kind} ${namespace}${name}`;
}

/** Parse one YAML text (a file or stdin) and add what it holds to `into`. */
export function parseResourceDocuments(text: string, file: string, into: ParsedResources = emptyParsedResources()): ParsedResources {
  const documents = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((document, index) => {
    const source: SourceRef = { file, document: index + 1 };
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        into.problems.push({ source, resource: 'document', problem: { path: '', message: `YAML: ${error.message.split('\n')[0]}` } });
      }
      return;
    }
    const raw: unknown = document.toJS({ maxAliasCount: 1000 });
    if (raw === null || raw === undefined) return;
    if (!isPlainObject(raw)) {
      into.problems.push({ source, resource: 'document', problem: { path: '', message: 'must be a YAML mapping with apiVersion and kind' } });
      return;
    }
    const kind = typeof raw.kind === 'string' ? raw.kind : '';
    const apiVersion = typeof raw.apiVersion === 'string' ? raw.apiVersion : '';
    const label = describeObject(kind || 'document', raw.metadata as any);
    const problems: Problem[] = [];
    const group = apiVersion.split('/')[0];
    if (!kind || !apiVersion) {
      if (!apiVersion) problems.push({ path: 'apiVersion', message: 'required field is missing' });
      if (!kind) problems.push({ path: 'kind', message: 'required field is missing' });
    } else if (kind === 'EgressGateway' && group === 'clrk.apoxy.dev') {
      const gateway = parseEgressGateway(raw, problems);
      if (gateway) into.gateways.push({ resource: gateway, source });
    } else if (kind === 'Backend' && group === 'core.apoxy.dev') {
      const backend = parseBackend(raw, problems);
      if (backend) into.backends.push({ resource: backend, source });
    } else if (kind === 'TCPRoute' && (group === 'gateway.apoxy.dev' || apiVersion === 'gateway.networking.k8s.io/v1alpha2')) {
      const route = parseTcpRoute(raw, problems);
      if (route) into.routes.push({ resource: route, source });
    } else if (isUserRouteDocument(apiVersion, kind)) {
      const route = parseUserRoute(raw, problems);
      if (route && namesEgressGateway(route)) into.userRoutes.push({ resource: route, source });
      else if (route) into.ignored.push(`${apiVersion} ${label} (${describeSource(source)}): no parentRef names an EgressGateway`);
    } else if (kind === 'EgressRouter' && group === 'network.operator.openshift.io') {
      const router = parseEgressRouter(raw, problems, DEFAULT_NAMESPACE);
      if (router) into.egressRouters.push({ resource: router, source });
    } else {
      into.ignored.push(`${apiVersion} ${label} (${describeSource(source)}): not an input kind`);
    }
    for (const problem of problems) into.problems.push({ source, resource: label, problem });
  });
  return into;
}
