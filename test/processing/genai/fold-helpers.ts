/**
 * Drives an ExchangeFolder the way the body worker does, for tests: request
 * bytes, response info, response bytes in the given pieces, finish.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExchangeFolder, type ExchangeFolderOptions } from '../../../src/processing/genai/exchange-folder';
import type { GenAiSummary } from '../../../src/processing/genai/genai-summary';

/** Tests run from dist/test/..., fixtures stay in the source tree. */
export const FIXTURES = resolve(__dirname, '../../../../test/fixtures/genai');

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(resolve(FIXTURES, name)));
}

export const LIMITS = { outputTextMaxBytes: 4096, maxEventBytes: 64 * 1024, toolArgsMaxBytes: 1024 };

export interface FoldCase {
  authority: string;
  path: string;
  requestBody?: string;
  statusCode?: number;
  responseContentType: string;
  awsErrorType?: string;
  limits?: Partial<ExchangeFolderOptions['limits']>;
  providerMapping?: ExchangeFolderOptions['providerMapping'];
  method?: string;
}

export function fold(c: FoldCase, pieces: Uint8Array[], responseComplete = true): GenAiSummary | undefined {
  const f = new ExchangeFolder({
    authority: c.authority,
    path: c.path,
    method: c.method ?? 'POST',
    requestContentType: 'application/json',
    limits: { ...LIMITS, ...c.limits },
    providerMapping: c.providerMapping,
  });
  if (c.requestBody !== undefined) {
    const req = Buffer.from(c.requestBody, 'utf8');
    // Request split in two so the scanner's cross-chunk state is exercised too.
    const mid = Math.floor(req.length / 2);
    f.pushRequest(req.subarray(0, mid));
    f.pushRequest(req.subarray(mid));
  }
  f.setResponseInfo({ statusCode: c.statusCode ?? 200, responseContentType: c.responseContentType, awsErrorType: c.awsErrorType });
  for (const p of pieces) f.pushResponse(p);
  return f.finish({ responseComplete });
}
