/**
 * DER tag-length-value concatenation, for assembling a certificate from
 * parts that are already DER (the minter's per-CA template, node:crypto's
 * SPKI export, the signature). Encoding structures themselves is left to
 * @peculiar/asn1-x509; this only frames bytes.
 */
export const TAG = {
  integer: 0x02,
  bitString: 0x03,
  sequence: 0x30,
  /** [0] EXPLICIT, constructed (TBSCertificate.version). */
  context0: 0xa0,
  /** [3] EXPLICIT, constructed (TBSCertificate.extensions). */
  context3: 0xa3,
} as const;

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = contents.length === 1 ? contents[0]! : Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

/** A BIT STRING holding whole bytes (no unused bits). */
export function bitString(bytes: Buffer): Buffer {
  return tlv(TAG.bitString, Buffer.from([0]), bytes);
}
