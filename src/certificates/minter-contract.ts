/**
 * What Envoy's configuration (written by the translator) and the certificate
 * minter must agree on, declared once for both sides.
 */

/** Port of the minter's SDS listener, where the translator points Envoy's cert-minter cluster. */
export const CERT_SDS_PORT = 9443;

/** Stream metadata naming the CA (`<namespace>/<name>`, the listener's caCertRef) that signs the stream's leaves. */
export const CA_SECRET_METADATA = 'x-egress-capture-ca-secret';

/**
 * The name Envoy's SNI certificate mapper asks for when a client sent no SNI
 * (its default_value). Under RFC 6761's `.invalid`, so it is never a real
 * host, and the minter refuses it.
 */
export const NO_SNI_NAME = 'no-sni.egress-capture.invalid';
