// A small declarative schema for the custom resources. It exists so that unknown fields,
// wrong types, enum values and missing required fields are all reported with a path, the
// way the API server would reject them, without pulling in a CRD for kinds we only read.
import { parseDurationMs } from './duration';
import { joinPath, Problem } from './problems';

export type FieldSchema =
  | StringSchema
  | { type: 'integer'; minimum?: number; maximum?: number }
  | { type: 'boolean' }
  | ObjectSchema
  | { type: 'map'; values: FieldSchema }
  | { type: 'array'; items: FieldSchema; minItems?: number; maxItems?: number }
  | { type: 'any' };

export interface StringSchema {
  type: 'string';
  enum?: readonly string[];
  minLength?: number;
  maxLength?: number;
  /** A regular expression plus a human description of it for the message. */
  pattern?: { regex: RegExp; describe: string };
  format?: 'duration' | 'ip' | 'date-time' | 'url';
  /** Lowest allowed value (milliseconds) when format is duration. */
  minDurationMs?: number;
}

export interface ObjectSchema {
  type: 'object';
  properties: Record<string, FieldSchema>;
  required?: readonly string[];
}

export const str = (extra: Omit<StringSchema, 'type'> = {}): StringSchema => ({ type: 'string', ...extra });
export const int = (minimum?: number, maximum?: number): FieldSchema => ({ type: 'integer', minimum, maximum });
export const bool = (): FieldSchema => ({ type: 'boolean' });
export const obj = (properties: Record<string, FieldSchema>, required: readonly string[] = []): ObjectSchema => ({
  type: 'object',
  properties,
  required,
});
export const arr = (items: FieldSchema, minItems?: number, maxItems?: number): FieldSchema => ({
  type: 'array',
  items,
  minItems,
  maxItems,
});
export const map = (values: FieldSchema): FieldSchema => ({ type: 'map', values });
export const anyValue = (): FieldSchema => ({ type: 'any' });

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function formatEnum(values: readonly string[]): string {
  return values.map((v) => (v === '' ? '""' : v)).join(', ');
}

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;
const IPV6 = /^[0-9a-fA-F:]+(%[0-9a-zA-Z]+)?$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function isIpAddress(text: string): boolean {
  return IPV4.test(text) || (text.includes(':') && IPV6.test(text));
}

function checkString(value: string, schema: StringSchema, path: string, problems: Problem[]): void {
  if (schema.enum && !schema.enum.includes(value)) {
    problems.push({ path, message: `${JSON.stringify(value)} is not one of ${formatEnum(schema.enum)}` });
    return;
  }
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    problems.push({ path, message: schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters` });
    return;
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    problems.push({ path, message: `must be at most ${schema.maxLength} characters` });
    return;
  }
  if (schema.pattern && !schema.pattern.regex.test(value)) {
    problems.push({ path, message: `${JSON.stringify(value)} is not ${schema.pattern.describe}` });
    return;
  }
  switch (schema.format) {
    case 'duration': {
      const ms = parseDurationMs(value);
      if (ms === undefined) {
        problems.push({ path, message: `${JSON.stringify(value)} is not a valid duration (use e.g. 30s, 5m, 1h30m)` });
      } else if (schema.minDurationMs !== undefined && ms < schema.minDurationMs) {
        problems.push({ path, message: `${JSON.stringify(value)} is below the minimum of ${schema.minDurationMs}ms` });
      }
      break;
    }
    case 'ip':
      if (!isIpAddress(value)) problems.push({ path, message: `${JSON.stringify(value)} is not an IPv4 or IPv6 address` });
      break;
    case 'date-time':
      if (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
        problems.push({ path, message: `${JSON.stringify(value)} is not an RFC 3339 timestamp` });
      }
      break;
    case 'url':
      try {
        const url = new URL(value);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
          problems.push({ path, message: `${JSON.stringify(value)} must be an http:// or https:// URL` });
        }
      } catch {
        problems.push({ path, message: `${JSON.stringify(value)} is not a valid URL` });
      }
      break;
    default:
      break;
  }
}

/** Check `value` against `schema`, appending a problem for every violation found. */
export function checkValue(value: unknown, schema: FieldSchema, path: string, problems: Problem[]): void {
  switch (schema.type) {
    case 'any':
      return;
    case 'string':
      // YAML turns a timestamp into a Date; accept it where a date-time is expected.
      if (schema.format === 'date-time' && value instanceof Date) return;
      if (typeof value !== 'string') {
        problems.push({ path, message: `must be a string, got ${describeType(value)}` });
        return;
      }
      checkString(value, schema, path, problems);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        problems.push({ path, message: `must be an integer, got ${describeType(value)}` });
        return;
      }
      if (schema.minimum !== undefined && value < schema.minimum) {
        problems.push({ path, message: `${value} is below the minimum of ${schema.minimum}` });
      } else if (schema.maximum !== undefined && value > schema.maximum) {
        problems.push({ path, message: `${value} is above the maximum of ${schema.maximum}` });
      }
      return;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push({ path, message: `must be true or false, got ${describeType(value)}` });
      return;
    case 'array':
      if (!Array.isArray(value)) {
        problems.push({ path, message: `must be a list, got ${describeType(value)}` });
        return;
      }
      if (schema.minItems !== undefined && value.length < schema.minItems) {
        problems.push({ path, message: `must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}` });
      }
      if (schema.maxItems !== undefined && value.length > schema.maxItems) {
        problems.push({ path, message: `must have at most ${schema.maxItems} items` });
      }
      value.forEach((item, i) => checkValue(item, schema.items, joinPath(path, i), problems));
      return;
    case 'map':
      if (!isPlainObject(value)) {
        problems.push({ path, message: `must be an object, got ${describeType(value)}` });
        return;
      }
      for (const [key, item] of Object.entries(value)) checkValue(item, schema.values, joinPath(path, key), problems);
      return;
    case 'object': {
      if (!isPlainObject(value)) {
        problems.push({ path, message: `must be an object, got ${describeType(value)}` });
        return;
      }
      for (const key of schema.required ?? []) {
        // Own properties only: `constructor` or `toString` must not be found on Object.prototype.
        if (!Object.hasOwn(value, key) || value[key] === undefined || value[key] === null) {
          problems.push({ path: joinPath(path, key), message: 'required field is missing' });
        }
      }
      for (const [key, item] of Object.entries(value)) {
        // Own-property lookup: a manifest key such as `__proto__`, `constructor` or
        // `toString` would otherwise find Object.prototype's member and pass as known.
        const fieldSchema = Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
        if (fieldSchema === undefined) {
          const known = Object.keys(schema.properties).join(', ');
          problems.push({ path: joinPath(path, key), message: `unknown field (known fields: ${known})` });
          continue;
        }
        // An explicit null is how YAML spells "unset"; the API server treats it the same way.
        if (item === null) continue;
        checkValue(item, fieldSchema, joinPath(path, key), problems);
      }
      return;
    }
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Check a whole document: the document when it passes, undefined (problems appended) when not. */
export function validDocument(raw: unknown, schema: FieldSchema, problems: Problem[]): Record<string, any> | undefined {
  const before = problems.length;
  checkValue(raw, schema, '', problems);
  return problems.length > before ? undefined : (raw as Record<string, any>);
}
