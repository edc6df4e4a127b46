/**
 * Errors raised by the GenAI library, with stable string codes so callers
 * (config loading, metrics, tests) can match on the code, never the text.
 * Only configuration is validated by throwing; traffic never throws — odd
 * bytes are counted in the summary instead.
 */
export const GenAiErrorCode = {
  /** A providerMapping entry is malformed; the message names the field and value. */
  mappingInvalid: 'CAP_ERR_GENAI_MAPPING_INVALID',
  /** A redaction rule or the list of rules to remove is malformed. */
  redactionRuleInvalid: 'CAP_ERR_GENAI_REDACTION_RULE_INVALID',
  /** A limit (bytes, fraction) is not a usable number. */
  limitInvalid: 'CAP_ERR_GENAI_LIMIT_INVALID',
} as const;

export type GenAiErrorCode = (typeof GenAiErrorCode)[keyof typeof GenAiErrorCode];

export class GenAiConfigError extends Error {
  readonly code: GenAiErrorCode;
  /** One line per problem found, so a config with several mistakes is fixed in one pass. */
  readonly issues: readonly string[];

  constructor(code: GenAiErrorCode, issues: readonly string[]) {
    super(`${code}: ${issues.join('; ')}`);
    this.name = 'GenAiConfigError';
    this.code = code;
    this.issues = issues;
  }
}

/** Throws CAP_ERR_GENAI_LIMIT_INVALID unless value is a positive safe integer. */
export function requirePositiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new GenAiConfigError(GenAiErrorCode.limitInvalid, [`${name} must be a positive integer, got ${String(value)}`]);
  }
  return value;
}
