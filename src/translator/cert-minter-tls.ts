// Optional mTLS between Envoy and the certificate minter (`translate --sds-tls-cert FILE
// --sds-tls-key FILE --sds-tls-ca FILE`), matching `serve --sds-tls-cert/--sds-tls-key
// --sds-client-ca`: Envoy presents its client certificate, and accepts the minter only with a
// certificate the given CA signed for the host Envoy dials. The files are paths as Envoy sees
// them (in its pod or on its host); the minter hands out private keys for any host name, so
// whoever can reach it must prove who they are.

export interface CertMinterTls {
  /** Envoy's client certificate chain and key (PEM files). */
  certFile: string;
  keyFile: string;
  /** CA that signed the minter's serving certificate (PEM file). */
  caFile: string;
}

export const CERT_MINTER_TLS_FLAGS = {
  '--sds-tls-cert': 'certFile',
  '--sds-tls-key': 'keyFile',
  '--sds-tls-ca': 'caFile',
} as const satisfies Record<string, keyof CertMinterTls>;

export const CERT_MINTER_TLS_USAGE = `  --sds-tls-cert FILE        Envoy's client certificate for the certificate minter (mTLS), with
  --sds-tls-key FILE         its key and
  --sds-tls-ca FILE          the CA of the minter's serving certificate (paths as Envoy sees them)
`;

/** Records one of the three flags; an error message when its value is missing. */
export function readCertMinterTlsFlag(partial: Partial<CertMinterTls>, flag: keyof typeof CERT_MINTER_TLS_FLAGS, value: string | undefined): string | undefined {
  if (!value) return `${flag} needs a file path`;
  partial[CERT_MINTER_TLS_FLAGS[flag]] = value;
  return undefined;
}

/** The three flags together or none; an error message naming what is missing. */
export function completeCertMinterTls(partial: Partial<CertMinterTls>): CertMinterTls | undefined | string {
  const given = Object.keys(partial).length;
  if (given === 0) return undefined;
  const missing = Object.entries(CERT_MINTER_TLS_FLAGS)
    .filter(([, key]) => partial[key] === undefined)
    .map(([flag]) => flag);
  if (missing.length > 0)
    return `${missing.join(', ')} needed with ${Object.keys(CERT_MINTER_TLS_FLAGS)
      .filter((f) => !missing.includes(f))
      .join(', ')}: mTLS to the certificate minter takes all three`;
  return partial as CertMinterTls;
}

/** The cert-minter cluster's transport socket: TLS with a client certificate, the minter verified by CA and name. */
export function certMinterTransportSocket(tls: CertMinterTls, serverName: string): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni: serverName,
      common_tls_context: {
        alpn_protocols: ['h2'],
        tls_certificates: [{ certificate_chain: { filename: tls.certFile }, private_key: { filename: tls.keyFile } }],
        validation_context: {
          trusted_ca: { filename: tls.caFile },
          match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: serverName } }],
        },
      },
    },
  };
}
