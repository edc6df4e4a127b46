/**
 * One signing CA, loaded from a PEM certificate and key and checked the way a
 * mistake would otherwise surface only as failed handshakes on every client:
 * each problem is a CaProblem naming the file and what is wrong with it.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, Name } from '@peculiar/asn1-x509';
import { describeError } from '../errors';

export class CaProblem extends Error {
  constructor(
    readonly file: string,
    readonly reason: CaProblemReason,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'CaProblem';
  }
}

export type CaProblemReason = 'missing' | 'unreadable' | 'not_pem' | 'not_a_ca' | 'expired' | 'not_yet_valid' | 'key_mismatch' | 'unsupported_key';

/** How a leaf is signed with this CA's key. */
interface SigningScheme {
  /** node:crypto digest name. */
  digest: string;
  /** AlgorithmIdentifier of the signature: OID, and whether parameters are an explicit NULL (RSA). */
  oid: string;
  nullParameters: boolean;
}

const ECDSA_BY_CURVE: Record<string, SigningScheme> = {
  prime256v1: { digest: 'sha256', oid: '1.2.840.10045.4.3.2', nullParameters: false },
  secp384r1: { digest: 'sha384', oid: '1.2.840.10045.4.3.3', nullParameters: false },
  secp521r1: { digest: 'sha512', oid: '1.2.840.10045.4.3.4', nullParameters: false },
};
const RSA_SHA256: SigningScheme = { digest: 'sha256', oid: '1.2.840.113549.1.1.11', nullParameters: true };

export class CertificateAuthority {
  private constructor(
    /** PEM as read (appended to every leaf's chain). */
    readonly certificatePem: string,
    readonly certificate: crypto.X509Certificate,
    readonly privateKey: crypto.KeyObject,
    /** The CA's subject, which becomes each leaf's issuer (re-encoded from the parsed DER). */
    readonly subject: Name,
    /** Key identifier leaves carry as authorityKeyIdentifier: the CA's own SKI, else SHA-1 of its key. */
    readonly keyIdentifier: Buffer,
    readonly scheme: SigningScheme,
    /** sha256 of certificate and key bytes: a new value means a rotated CA. */
    readonly fingerprint: string,
    /** Where the certificate was read from, for messages. */
    readonly certFile: string,
  ) {}

  get notAfter(): Date {
    return new Date(this.certificate.validTo);
  }

  /** RSA or ECDSA (P-256, P-384, P-521). */
  get keyType(): string {
    const details = this.privateKey.asymmetricKeyDetails;
    return this.privateKey.asymmetricKeyType === 'rsa' ? `rsa-${details?.modulusLength}` : `ecdsa-${details?.namedCurve}`;
  }

  /** Reads and checks a CA from its two files. `now` decides expiry. */
  static fromFiles(certFile: string, keyFile: string, now = new Date()): CertificateAuthority {
    const certificateBytes = readCaFile(certFile);
    const keyBytes = readCaFile(keyFile);
    return CertificateAuthority.fromPem(certificateBytes, keyBytes, { certFile, keyFile }, now);
  }

  static fromPem(certificateBytes: Buffer, keyBytes: Buffer, files: { certFile: string; keyFile: string }, now = new Date()): CertificateAuthority {
    const { certFile, keyFile } = files;
    const certificatePem = firstPemBlock(certificateBytes.toString('utf8'), 'CERTIFICATE');
    if (certificatePem === undefined) throw new CaProblem(certFile, 'not_pem', 'no PEM "CERTIFICATE" block: expected the CA certificate in PEM');
    let certificate: crypto.X509Certificate;
    try {
      certificate = new crypto.X509Certificate(certificatePem);
    } catch (err) {
      throw new CaProblem(certFile, 'not_pem', `the PEM certificate cannot be parsed (${describeError(err)})`);
    }
    if (!certificate.ca)
      throw new CaProblem(certFile, 'not_a_ca', `"${certificate.subject.replace(/\n/g, ', ')}" is not a CA certificate (basicConstraints CA:false or absent): it cannot sign leaves clients accept`);
    if (new Date(certificate.validTo) <= now) throw new CaProblem(certFile, 'expired', `the CA certificate expired on ${new Date(certificate.validTo).toISOString()}`);
    if (new Date(certificate.validFrom) > now) throw new CaProblem(certFile, 'not_yet_valid', `the CA certificate is valid only from ${new Date(certificate.validFrom).toISOString()}`);
    let privateKey: crypto.KeyObject;
    try {
      privateKey = crypto.createPrivateKey(keyBytes);
    } catch (err) {
      throw new CaProblem(keyFile, 'not_pem', `no usable unencrypted PEM private key (${describeError(err)})`);
    }
    let scheme: SigningScheme | undefined;
    if (privateKey.asymmetricKeyType === 'rsa') scheme = RSA_SHA256;
    else if (privateKey.asymmetricKeyType === 'ec') scheme = ECDSA_BY_CURVE[privateKey.asymmetricKeyDetails?.namedCurve ?? ''];
    if (scheme === undefined) {
      const type = privateKey.asymmetricKeyType === 'ec' ? `ec ${privateKey.asymmetricKeyDetails?.namedCurve}` : privateKey.asymmetricKeyType;
      throw new CaProblem(keyFile, 'unsupported_key', `the key is ${type}: expected RSA or ECDSA P-256, P-384 or P-521`);
    }
    if (!certificate.checkPrivateKey(privateKey)) throw new CaProblem(keyFile, 'key_mismatch', `the key does not match the certificate in ${certFile}`);
    const parsed = AsnConvert.parse(certificate.raw, Certificate);
    const ski = subjectKeyIdentifierOf(parsed);
    const keyIdentifier = ski ?? crypto.createHash('sha1').update(Buffer.from(parsed.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey)).digest();
    const fingerprint = crypto.createHash('sha256').update(certificateBytes).update(keyBytes).digest('hex');
    return new CertificateAuthority(certificatePem, certificate, privateKey, parsed.tbsCertificate.subject, keyIdentifier, scheme, fingerprint, certFile);
  }

  /** Signs DER bytes with the CA key; ECDSA signatures come out DER-encoded, as X.509 wants them. */
  sign(tbs: Buffer): Buffer {
    return crypto.sign(this.scheme.digest, tbs, this.privateKey);
  }
}

function readCaFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CaProblem(file, 'missing', 'no such file');
    throw new CaProblem(file, 'unreadable', `cannot be read (${code ?? describeError(err)})`);
  }
}

function firstPemBlock(text: string, label: string): string | undefined {
  const match = new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`).exec(text);
  return match ? match[0] + '\n' : undefined;
}

const SUBJECT_KEY_IDENTIFIER = '2.5.29.14';

function subjectKeyIdentifierOf(certificate: Certificate): Buffer | undefined {
  const extension = certificate.tbsCertificate.extensions?.find((e) => e.extnID === SUBJECT_KEY_IDENTIFIER);
  if (extension === undefined) return undefined;
  // extnValue holds the DER of an OCTET STRING: tag, length, then the identifier.
  const der = Buffer.from(extension.extnValue.buffer);
  return der.subarray(der[1]! < 0x80 ? 2 : 2 + (der[1]! & 0x7f));
}
