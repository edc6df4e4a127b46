/**
 * Mints one TLS server certificate for one name, signed by a CA.
 *
 * The leaf (what browsers and TLS libraries require of a server certificate,
 * RFC 5280 and the CA/Browser Forum baseline where it applies to a private CA):
 * - subjectAltName: the DNS name, or the IP address as an iPAddress entry;
 *   CN the same when it fits the 64-character limit of X.520 (clients match
 *   the SAN only; without a CN the subject is empty and the SAN is critical);
 * - extendedKeyUsage serverAuth, keyUsage digitalSignature (critical),
 *   basicConstraints CA:false (critical), subject and authority key identifiers;
 * - a random positive 128-bit serial;
 * - notBefore an hour back, for clients whose clock runs behind; notAfter
 *   `validityMs` on, never past the CA's own notAfter;
 * - an ECDSA P-256 key: fast to make and to handshake with.
 *
 * @peculiar/asn1-x509 encodes the structures; node:crypto (OpenSSL) makes
 * the key, exports its SubjectPublicKeyInfo as DER and signs, synchronously
 * and off the WebCrypto promise path. What is the same for every leaf of a CA
 * (issuer, signature algorithm, four of the six extensions) is encoded once
 * per CA and the certificate is framed from DER parts (der.ts): encoding the
 * whole tree per leaf through the schema library took about 1 ms a leaf,
 * the framed assembly a fraction of it (see the bench's minter section).
 */
import * as crypto from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  ExtendedKeyUsage,
  GeneralName,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_serverAuth,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  Validity,
} from '@peculiar/asn1-x509';
import type { CertificateAuthority } from './certificate-authority';
import { bitString, TAG, tlv } from './der';
import { commonNameOnly, extension, randomSerial, signatureAlgorithm, toArrayBuffer, toPem } from './x509-parts';

/** How far notBefore is set back from the time of minting. */
export const CLOCK_SKEW_MS = 60 * 60 * 1000;
/** X.520 ub-common-name. */
const MAX_COMMON_NAME = 64;

export interface MintedLeaf {
  /** The requested name it was minted for (lower-cased DNS name or IP address). */
  name: string;
  /** PEM chain: leaf, then the CA. */
  chainPem: string;
  /** PKCS#8 PEM private key. */
  keyPem: string;
  /** Hex serial; unique per leaf, so it serves as the xDS resource version. */
  serial: string;
  issuedAt: number;
  notAfter: number;
}

/** TBSCertificate.version v3: [0] EXPLICIT INTEGER 2. */
const VERSION_V3 = Buffer.from([TAG.context0, 0x03, TAG.integer, 0x01, 0x02]);
/** An uncompressed P-256 point, the last bytes of its SPKI DER: what the key identifier hashes. */
const P256_POINT_BYTES = 65;

/** The DER every leaf of one CA shares. */
interface CaTemplate {
  signatureAlgorithm: Buffer;
  issuer: Buffer;
  fixedExtensions: Buffer[];
}

const templates = new WeakMap<CertificateAuthority, CaTemplate>();

function templateOf(ca: CertificateAuthority): CaTemplate {
  let template = templates.get(ca);
  if (template === undefined) {
    const der = (value: object): Buffer => Buffer.from(AsnConvert.serialize(value));
    template = {
      signatureAlgorithm: der(signatureAlgorithm(ca.scheme.oid, ca.scheme.nullParameters)),
      issuer: der(ca.subject),
      fixedExtensions: [
        der(extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false }))),
        der(extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature))),
        der(extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth]))),
        der(extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(toArrayBuffer(ca.keyIdentifier)) }))),
      ],
    };
    templates.set(ca, template);
  }
  return template;
}

/** Mints a leaf for `name` (already validated: see host-name.ts). */
export function mintLeaf(ca: CertificateAuthority, name: string, kind: 'dns' | 'ip', validityMs: number, now = Date.now()): MintedLeaf {
  const template = templateOf(ca);
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const keyIdentifier = crypto
    .createHash('sha1')
    .update(spki.subarray(spki.length - P256_POINT_BYTES))
    .digest();
  const serial = randomSerial();
  const notAfter = Math.min(now + validityMs, ca.notAfter.getTime());
  const der = (value: object): Buffer => Buffer.from(AsnConvert.serialize(value));
  const withCommonName = name.length <= MAX_COMMON_NAME;
  const subject = der(withCommonName ? commonNameOnly(name) : new Name([]));
  const altName = kind === 'ip' ? new GeneralName({ iPAddress: name }) : new GeneralName({ dNSName: name });
  const extensions = [
    ...template.fixedExtensions,
    // Without a CN the subject is empty, and RFC 5280 then wants the SAN critical.
    der(extension(id_ce_subjectAltName, !withCommonName, new SubjectAlternativeName([altName]))),
    der(extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(toArrayBuffer(keyIdentifier)))),
  ];
  const tbs = tlv(
    TAG.sequence,
    VERSION_V3,
    tlv(TAG.integer, serial),
    template.signatureAlgorithm,
    template.issuer,
    der(new Validity({ notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(notAfter) })),
    subject,
    spki,
    tlv(TAG.context3, tlv(TAG.sequence, ...extensions)),
  );
  const certificate = tlv(TAG.sequence, tbs, template.signatureAlgorithm, bitString(ca.sign(tbs)));
  return {
    name,
    chainPem: toPem(certificate, 'CERTIFICATE') + ca.certificatePem,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    serial: serial.toString('hex'),
    issuedAt: now,
    notAfter,
  };
}
