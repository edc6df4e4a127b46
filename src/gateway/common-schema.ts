// Schema pieces shared by the three kinds: object metadata and the Gateway API types they reuse.
import { anyValue, arr, int, map, obj, str } from './field-schema';

/** RFC 1123 subdomain, the rule for most Kubernetes object names. */
export const DNS_SUBDOMAIN = {
  regex: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  describe: 'a lowercase RFC 1123 name (a-z, 0-9, "-" and ".")',
};

/** RFC 1123 label: namespaces, listener names. */
export const DNS_LABEL = {
  regex: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
  describe: 'a lowercase RFC 1123 label (a-z, 0-9 and "-")',
};

export const OBJECT_META = obj(
  {
    name: str({ minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN }),
    namespace: str({ minLength: 1, maxLength: 63, pattern: DNS_LABEL }),
    labels: map(str()),
    annotations: map(str()),
    creationTimestamp: str({ format: 'date-time' }),
    uid: str(),
    // Fields a manifest exported from a cluster carries; accepted and ignored.
    resourceVersion: str(),
    generation: int(),
    generateName: str(),
    finalizers: arr(str()),
    ownerReferences: arr(anyValue()),
    managedFields: arr(anyValue()),
    deletionTimestamp: str({ format: 'date-time' }),
    deletionGracePeriodSeconds: int(),
    selfLink: str(),
  },
  ['name'],
);

export const SECRET_OBJECT_REFERENCE = obj(
  {
    group: str({ enum: [''] }),
    kind: str({ enum: ['Secret'] }),
    name: str({ minLength: 1, maxLength: 253 }),
    namespace: str({ minLength: 1, maxLength: 63, pattern: DNS_LABEL }),
  },
  ['name'],
);

const LABEL_SELECTOR = obj({
  matchLabels: map(str()),
  matchExpressions: arr(obj({ key: str({ minLength: 1 }), operator: str({ enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }), values: arr(str()) }, ['key', 'operator'])),
});

export const ALLOWED_ROUTES = obj({
  namespaces: obj({ from: str({ enum: ['All', 'Same', 'Selector'] }), selector: LABEL_SELECTOR }),
  kinds: arr(obj({ group: str(), kind: str({ minLength: 1, maxLength: 63 }) }, ['kind']), 0, 8),
});

export const PARENT_REFERENCE = obj(
  {
    group: str(),
    kind: str(),
    namespace: str({ minLength: 1, maxLength: 63, pattern: DNS_LABEL }),
    name: str({ minLength: 1, maxLength: 253 }),
    sectionName: str({ minLength: 1, maxLength: 253 }),
    port: int(1, 65535),
  },
  ['name'],
);

export const BACKEND_REF = obj(
  {
    group: str(),
    kind: str(),
    name: str({ minLength: 1, maxLength: 253 }),
    namespace: str({ minLength: 1, maxLength: 63, pattern: DNS_LABEL }),
    port: int(1, 65535),
    weight: int(0, 1_000_000),
  },
  ['name'],
);
