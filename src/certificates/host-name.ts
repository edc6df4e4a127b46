/**
 * Which requested names get a certificate. Envoy's SNI certificate mapper asks
 * for whatever the client put in its ClientHello (or the mapper's default when
 * there was none), so a name is checked before anything is minted for it:
 * a certificate for a name no client can legitimately ask for is a key handed
 * out for nothing, and a malformed SAN makes the whole leaf unusable.
 *
 * Accepted: an IPv4 or IPv6 address (served as an IP SAN), or a DNS name of at
 * most 253 bytes whose labels are 1-63 characters of letters, digits, hyphen
 * or underscore (underscores occur in real service names and every TLS stack
 * we target accepts them), not starting or ending with a hyphen, whose last
 * label is not all digits (that would be a malformed address), and where `*`
 * appears only as the whole leftmost label (a wildcard certificate).
 */
import * as net from 'node:net';
import { NO_SNI_NAME } from './minter-contract';

export type RefusalReason = 'empty' | 'too_long' | 'bad_label' | 'misplaced_wildcard' | 'no_sni';

export type HostName = { kind: 'dns' | 'ip'; name: string } | { kind: 'refused'; reason: RefusalReason; detail: string };

const MAX_NAME_BYTES = 253;
const MAX_LABEL_BYTES = 63;
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;

/** Classifies one requested resource name. DNS names come back lower-cased. */
export function parseHostName(requested: string): HostName {
  if (requested === '') return { kind: 'refused', reason: 'empty', detail: 'the name is empty' };
  if (Buffer.byteLength(requested) > MAX_NAME_BYTES) return { kind: 'refused', reason: 'too_long', detail: `${Buffer.byteLength(requested)} bytes, at most ${MAX_NAME_BYTES}` };
  if (net.isIP(requested) !== 0) return { kind: 'ip', name: requested };
  const name = requested.toLowerCase();
  if (name === NO_SNI_NAME) return { kind: 'refused', reason: 'no_sni', detail: 'the client sent no server name (SNI)' };
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label.includes('*')) {
      if (label === '*' && i === 0 && labels.length > 2) continue;
      return { kind: 'refused', reason: 'misplaced_wildcard', detail: `"*" is allowed only as the whole leftmost label of a name with at least two more labels` };
    }
    if (label.length === 0) return { kind: 'refused', reason: 'bad_label', detail: 'empty label (leading, trailing or double dot)' };
    if (label.length > MAX_LABEL_BYTES) return { kind: 'refused', reason: 'bad_label', detail: `label of ${label.length} characters, at most ${MAX_LABEL_BYTES}` };
    if (!LABEL.test(label)) return { kind: 'refused', reason: 'bad_label', detail: `label "${label}" has characters other than letters, digits, "-" and "_", or starts or ends with "-"` };
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return { kind: 'refused', reason: 'bad_label', detail: 'the last label is all digits but the name is not an IP address' };
  return { kind: 'dns', name };
}
