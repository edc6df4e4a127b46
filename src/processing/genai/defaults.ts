/**
 * The fixed limits of the GenAI processing library, with their units. The
 * limits an operator's configuration decides (folded text, tool arguments,
 * single events) come from the option table (src/config/options.ts) through
 * ExchangeFolderLimits; these apply where a caller leaves a limit out.
 */

/** Tool calls kept per exchange (count); later ones are counted in toolCallsDropped. */
export const DEFAULT_MAX_TOOL_CALLS = 64;

/** Distinct dropped tool calls remembered for counting (count); the dropped count saturates there. */
export const MAX_DROPPED_TOOL_CALL_KEYS = 1024;

/** Tool call id and name kept (bytes of UTF-8); real ones are a few dozen bytes. */
export const TOOL_CALL_ID_MAX_BYTES = 256;
export const TOOL_CALL_NAME_MAX_BYTES = 256;

/** Finish reasons kept (count); one per choice, so more than this is a degenerate request. */
export const MAX_FINISH_REASONS = 32;

/** Provider error message kept (bytes of UTF-8). */
export const ERROR_MESSAGE_MAX_BYTES = 4 * 1024;

/** Error type / model / response id kept (bytes of UTF-8). */
export const SHORT_FIELD_MAX_BYTES = 256;

/**
 * Request bytes scanned for model / stream (bytes). The scan keeps constant
 * memory; this bounds only the CPU spent on huge prompts (for example inline
 * images). Fields after this offset are not seen.
 */
export const DEFAULT_REQUEST_SCAN_MAX_BYTES = 32 * 1024 * 1024;

/** Raw value of a wanted top-level request member kept for parsing (bytes), e.g. stream_options. */
export const REQUEST_FIELD_VALUE_MAX_BYTES = 4 * 1024;

/** Head + tail capture: share of the budget given to the head when the caller does not say (fraction). */
export const DEFAULT_HEAD_FRACTION = 0.5;
