/**
 * Validates a HAR document against the HAR 1.2 JSON Schemas of the
 * `har-schema` package (the ones har-validator and request used), with ajv.
 */
import { isIP } from 'node:net';
import Ajv from 'ajv';

const draft6 = require('ajv/dist/refs/json-schema-draft-06.json') as object;
const schemas = require('har-schema') as Record<string, { $id: string }>;

export function harErrors(har: unknown): string[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addMetaSchema(draft6);
  ajv.addFormat('date-time', (value: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value) && !Number.isNaN(Date.parse(value)));
  ajv.addFormat('uri', (value: string) => URL.canParse(value));
  ajv.addFormat('ipv4', (value: string) => isIP(value) === 4);
  ajv.addFormat('ipv6', (value: string) => isIP(value) === 6);
  for (const schema of Object.values(schemas)) ajv.addSchema(schema);
  const validate = ajv.getSchema('har.json#')!;
  return validate(har) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ''}`);
}
