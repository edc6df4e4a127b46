// The one schema module for the custom resources the product reads (EgressGateway, Backend,
// TCPRoute, EgressRouter, and the user's Gateway API routes). The translator and the capture service's --gateway option both use it.
export * from './types';
export * from './defaults';
export * from './duration';
export * from './problems';
export { GatewayInvalidError } from './gateway-invalid-error';
export { parseEgressGateway, EGRESS_GATEWAY_API_VERSION } from './egress-gateway';
export { parseBackend, BACKEND_API_VERSION } from './backend';
export { parseTcpRoute } from './tcp-route';
export { parseEgressRouter, EGRESS_ROUTER_API_VERSION } from './egress-router';
export type { EgressRouter, RedirectRule, RedirectProtocol } from './egress-router';
export { parseUserRoute, isUserRouteDocument, GATEWAY_API_GROUP } from './user-route';
export type { UserRoute, UserRouteKind } from './user-route';
export { parseResourceDocuments, emptyParsedResources, formatDocumentProblem, describeSource, describeObject } from './parse-documents';
export type { ParsedResources, DocumentProblem } from './parse-documents';
export { resolveRouteReferences, routeNamespace, acceptsTcpRoute } from './route-references';
export type { RouteAttachment, ResolvedBackendRef } from './route-references';
export { loadGatewayCaptureSettings } from './capture-settings';
export type { GatewayCaptureSettings } from './capture-settings';
