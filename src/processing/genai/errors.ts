/**
 * Errors raised by the GenAI library: a CaptureError with one of the
 * registry's CAP_ERR_GENAI_* codes, so callers (config loading, tests) match
 * on the code, never the text. Only configuration is validated by throwing;
 * traffic never throws — odd bytes are counted in the summary instead.
 */
import { CaptureError, type ErrorCode } from '../../errors';

/** The registry's GenAI configuration codes (src/errors.ts says what each means). */
export type GenAiErrorCode = Extract<ErrorCode, `CAP_ERR_GENAI_${string}`>;

export class GenAiConfigError extends CaptureError {
  declare readonly code: GenAiErrorCode;

  constructor(code: GenAiErrorCode, problems: readonly string[]) {
    super(code, `${code}: ${problems.join('; ')}`, { problems });
    this.name = 'GenAiConfigError';
  }
}

/** Throws CAP_ERR_GENAI_LIMIT_INVALID unless value is a positive safe integer. */
export function requirePositiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new GenAiConfigError('CAP_ERR_GENAI_LIMIT_INVALID', [`${name} must be a positive integer, got ${String(value)}`]);
  }
  return value;
}
