/**
 * Makes a self-signed CA for TLS interception (`egress-capture ca init`):
 * ECDSA P-256 unless asked otherwise, basicConstraints CA:true with
 * pathLenConstraint 0 (it signs leaves only), keyUsage keyCertSign + cRLSign
 * (critical), a subject key identifier leaves point back to.
 */
import * as crypto from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  Extensions,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  SubjectKeyIdentifier,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { commonNameOnly, extension, publicKeyInfo, randomSerial, signatureAlgorithm, toArrayBuffer, toPem } from './x509-parts';

export interface NewCaOptions {
  commonName: string;
  /** ECDSA P-256 (the default) or RSA 3072. */
  keyType?: 'ecdsa' | 'rsa';
  notBefore?: Date;
  notAfter: Date;
}

export interface NewCa {
  certificatePem: string;
  keyPem: string;
}

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const RSA_SHA256 = '1.2.840.113549.1.1.11';

export function createCa(options: NewCaOptions): NewCa {
  const rsa = options.keyType === 'rsa';
  const { publicKey, privateKey } = rsa ? crypto.generateKeyPairSync('rsa', { modulusLength: 3072 }) : crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const { spki, keyIdentifier } = publicKeyInfo(publicKey);
  const signature = signatureAlgorithm(rsa ? RSA_SHA256 : ECDSA_SHA256, rsa);
  const name = commonNameOnly(options.commonName);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(randomSerial()),
    signature,
    issuer: name,
    validity: new Validity({ notBefore: options.notBefore ?? new Date(Date.now() - 60 * 60 * 1000), notAfter: options.notAfter }),
    subject: name,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })),
      extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
      extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(toArrayBuffer(keyIdentifier))),
    ]),
  });
  const signatureValue = crypto.sign('sha256', Buffer.from(AsnConvert.serialize(tbs)), privateKey);
  const der = Buffer.from(AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: signature, signatureValue: toArrayBuffer(signatureValue) })));
  return { certificatePem: toPem(der, 'CERTIFICATE'), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
