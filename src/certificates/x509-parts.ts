/**
 * Pieces every certificate this service builds shares (the CA of `ca init`
 * and each minted leaf), on @peculiar/asn1-x509's structures.
 */
import * as crypto from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, Extension, Name, RelativeDistinguishedName, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';

const COMMON_NAME = '2.5.4.3';
/** DER of ASN.1 NULL: the parameters of an RSA signature algorithm (RFC 4055). */
const DER_NULL = new Uint8Array([0x05, 0x00]).buffer;

export function extension(id: string, critical: boolean, value: object): Extension {
  return new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** A random positive 128-bit serial, 16 bytes in DER (top bit clear, next bit set). */
export function randomSerial(): Buffer {
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return serial;
}

export function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export function toPem(der: Buffer, label: string): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

export function commonNameOnly(commonName: string): Name {
  return new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: COMMON_NAME, value: new AttributeValue({ utf8String: commonName }) })])]);
}

export function signatureAlgorithm(oid: string, nullParameters: boolean): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: oid, ...(nullParameters ? { parameters: DER_NULL } : {}) });
}

/** SPKI of a public key, and its key identifier (RFC 5280 4.2.1.2 method 1: SHA-1 of the key bits). */
export function publicKeyInfo(publicKey: crypto.KeyObject): { spki: SubjectPublicKeyInfo; keyIdentifier: Buffer } {
  const spki = AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  return { spki, keyIdentifier: crypto.createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest() };
}
