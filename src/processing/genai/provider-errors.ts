/**
 * Reads the error out of a provider error body or error event. The shapes
 * differ by provider, but each is recognisable on its own, so one reader
 * serves every API:
 *   OpenAI / Azure / compatibles: {"error": {"message", "type", "code"}}
 *   Anthropic:                    {"type": "error", "error": {"type", "message"}}
 *   OpenAI Responses stream:      {"type": "error", "code", "message"}
 *   Ollama:                       {"error": "message"}
 *   Bedrock:                      {"message": "..."} (type in the x-amzn-errortype header or __type)
 *   Gemini / Vertex AI:           {"error": {"code": 429, "message", "status": "RESOURCE_EXHAUSTED"}}
 */
import { asObject, asString } from './json-access';

export interface ProviderError {
  type: string | undefined;
  message: string | undefined;
}

export function readProviderError(value: unknown): ProviderError | undefined {
  const o = asObject(value);
  if (o === undefined) return undefined;
  const err = o['error'];
  const e = asObject(err);
  if (e !== undefined) {
    const code = e['code'];
    return {
      // Google's status (RESOURCE_EXHAUSTED) says more than its numeric code (the HTTP status again).
      type: asString(e['type']) ?? asString(e['status']) ?? asString(code) ?? (typeof code === 'number' ? String(code) : undefined),
      message: asString(e['message']),
    };
  }
  if (typeof err === 'string') return { type: undefined, message: err };
  if (o['type'] === 'error') {
    return { type: asString(o['code']), message: asString(o['message']) };
  }
  const message = asString(o['message']) ?? asString(o['Message']);
  if (message !== undefined) {
    // Bedrock puts "ValidationException:..." style names in __type on some paths.
    const t = asString(o['__type']);
    return { type: t !== undefined ? t.slice(t.lastIndexOf('#') + 1) : undefined, message };
  }
  return undefined;
}
