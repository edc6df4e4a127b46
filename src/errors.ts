/**
 * Stable error codes. The code string is what survives logs, metrics labels
 * and worker-thread cloning, so callers branch on `code`, never on classes or
 * messages. Every code the service can raise is listed here once, with the
 * meaning operators see in the README's error table.
 */
export const ErrorCodes = {
  CAP_ERR_CONFIG_INVALID: 'configuration is invalid (every bad field is listed)',
  CAP_ERR_GATEWAY_INVALID: 'the --gateway manifest is not a valid EgressGateway',
  CAP_ERR_GRPC_BIND: 'the gRPC listener could not bind its address',
  CAP_ERR_ADMIN_BIND: 'the admin HTTP listener could not bind its address',
  CAP_ERR_TLS_FILES: "a listener's TLS certificate or key cannot be loaded (the file and the problem are named); at start the service exits, on a change the previous pair stays in use",
  CAP_ERR_SDS_BIND: 'the certificate minter (SDS) listener could not bind its address',
  CAP_ERR_STORE_OPEN: 'the ClickHouse store could not be opened or its schema created',
  CAP_ERR_STORE_WRITE: 'a batch could not be written to ClickHouse',
  CAP_ERR_STORE_UNREACHABLE: 'the remote ClickHouse server could not be reached (address, network or TLS)',
  CAP_ERR_STORE_AUTH: 'the remote ClickHouse server rejected the credentials in --clickhouse-url',
  CAP_ERR_STORE_NO_DATABASE: 'the database named in --clickhouse-url does not exist on the server',
  CAP_ERR_STORE_SCHEMA: 'the remote table is missing, has another engine than configured, or lacks columns the service writes',
  CAP_ERR_STORE_BUSY: 'the data directory is in use by a running server; query it through --admin',
  CAP_ERR_QUERY_FAILED: 'a query sent to the store failed',
  CAP_ERR_PROTOCOL: 'an ext_proc stream carried a message the protocol does not allow',
  CAP_ERR_WORKER: 'a body worker failed while building a row',
  CAP_ERR_PENDING_FULL: 'the bound on rows waiting for storage was reached; the row was dropped',
  CAP_ERR_SPOOL_WRITE: 'a record, fsync or cursor could not be written to the spool (disk full, I/O error); the record is counted as dropped',
  CAP_ERR_SPOOL_READ: 'spool records could not be read back for a sink; they are counted as dropped for it',
  CAP_ERR_SPOOL_CORRUPT: 'damaged spool records were found at start (checksum mismatch) and skipped',
  CAP_ERR_SPOOL_FULL: 'the spool disk budget was reached with every body already dropped; the oldest records were deleted and counted',
  CAP_ERR_OTLP_CONFIG: 'the OTLP export settings are invalid (endpoint URL, encoding, compression or size cap)',
  CAP_ERR_OTLP_EXPORT: 'a batch could not be exported to the OTLP endpoint',
  CAP_ERR_OTLP_ROW_INVALID: 'a stored row could not be parsed for OTLP export and was skipped',
  CAP_ERR_GENAI_MAPPING_INVALID: 'a --provider-mapping entry is invalid (the field and value are named)',
  CAP_ERR_GENAI_REDACTION_RULE_INVALID: 'a --body-redaction-rules rule is invalid (the rule and pattern are named)',
  CAP_ERR_GENAI_LIMIT_INVALID: 'a GenAI folding limit is out of range',
  CAP_ERR_POLICY_INVALID: 'the --capture-policy file is invalid (each rule and field is named); on a reload the policy in force stays',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * The one error class the service throws for a registered failure. `problems`
 * lists every fault found, one line each ("--flag: value expected ..."), so a
 * configuration with several mistakes is fixed in one pass; it is empty when
 * the message says it all.
 */
export class CaptureError extends Error {
  readonly code: ErrorCode;
  readonly problems: readonly string[];

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; problems?: readonly string[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CaptureError';
    this.code = code;
    this.problems = options?.problems ?? [];
  }
}

/** Short, single-line description of any thrown value for log lines. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The fields of a log line that reports a failure: `code`, from the registry,
 * so alerts and tests match the code rather than the wording, and `err`, what
 * was thrown. The code is the one given (what failed at this line), else the
 * thrown CaptureError's own.
 */
export function errorFields(err: unknown, code?: ErrorCode): { code?: ErrorCode; err: string } {
  const own = err instanceof CaptureError ? err.code : undefined;
  const chosen = code ?? own;
  return chosen === undefined ? { err: describeError(err) } : { code: chosen, err: describeError(err) };
}
