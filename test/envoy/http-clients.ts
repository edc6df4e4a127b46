/**
 * The clients of the end-to-end tests: curl (HTTP/1.1 and HTTP/2 with prior
 * knowledge, as users' scripts and SDK-less tools send) and Node's own HTTP
 * stacks (fetch/undici for HTTP/1.1, node:http2 for HTTP/2 with trailers).
 * Each returns what the client received, bytes exact, so a test can compare
 * it with what the upstream sent.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ClientRequest {
  port: number;
  method?: string;
  path: string;
  /** Sent as Host (HTTP/1.1) or :authority (HTTP/2). */
  authority?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  testId: string;
  timeoutMs?: number;
}

export interface ClientResponse {
  status: number;
  /** Lower-cased names; repeated ones joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  trailers?: Record<string, string>;
  /** Set when the transfer did not complete (reset, timeout), with what the client reported. */
  error?: string;
}

/** curl, once. `http2` uses prior knowledge (h2c), which Envoy's AUTO codec accepts. */
export function curl(request: ClientRequest, options: { http2?: boolean; extraArgs?: string[] } = {}): Promise<ClientResponse> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-curl-'));
  const headerFile = path.join(dir, 'headers');
  const bodyFile = path.join(dir, 'body');
  const args = [
    '-sS',
    options.http2 ? '--http2-prior-knowledge' : '--http1.1',
    '-X',
    request.method ?? 'GET',
    '-D',
    headerFile,
    '-o',
    bodyFile,
    '--max-time',
    String((request.timeoutMs ?? 20_000) / 1000),
    '-H',
    `x-test-id: ${request.testId}`,
    '-H',
    `host: ${request.authority ?? 'upstream.test'}`,
  ];
  for (const [name, value] of Object.entries(request.headers ?? {})) args.push('-H', `${name}: ${value}`);
  if (request.method === 'HEAD') args.push('--head');
  if (request.body) {
    const bodyIn = path.join(dir, 'request');
    fs.writeFileSync(bodyIn, request.body);
    args.push('--data-binary', `@${bodyIn}`);
  }
  args.push(...(options.extraArgs ?? []), `http://127.0.0.1:${request.port}${request.path}`);
  return new Promise((resolve) => {
    execFile('curl', args, { encoding: 'utf8' }, (err, _stdout, stderr) => {
      const headerText = fs.existsSync(headerFile) ? fs.readFileSync(headerFile, 'latin1') : '';
      const body = fs.existsSync(bodyFile) ? fs.readFileSync(bodyFile) : Buffer.alloc(0);
      fs.rmSync(dir, { recursive: true, force: true });
      // -D writes every response head (100-continue included): the last one is the answer.
      const heads = headerText.split(/\r?\n\r?\n/).filter((h) => /^HTTP\//.test(h));
      const last = heads[heads.length - 1] ?? '';
      const lines = last.split(/\r?\n/);
      const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
      resolve({ status, headers, body, ...(err ? { error: stderr.trim() || err.message } : {}) });
    });
  });
}

/**
 * Node's fetch (undici), HTTP/1.1. It decodes content-encoding, so encoded
 * answers are compared through curl; and Host is a forbidden header for fetch,
 * so the authority is always `127.0.0.1:PORT`.
 */
export async function nodeFetch(request: ClientRequest): Promise<ClientResponse> {
  try {
    const response = await fetch(`http://127.0.0.1:${request.port}${request.path}`, {
      method: request.method ?? 'GET',
      headers: { 'x-test-id': request.testId, ...request.headers },
      body: request.body,
      signal: AbortSignal.timeout(request.timeoutMs ?? 20_000),
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    const body = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers, body };
  } catch (err) {
    return { status: 0, headers: {}, body: Buffer.alloc(0), error: String(err) };
  }
}

/** A piece of a request body written on its own (one DATA frame), `delayMs` after the previous piece (the first: after the headers). */
export interface TimedPiece {
  data: Buffer;
  delayMs: number;
}

/**
 * node:http2 with prior knowledge; keeps response trailers. `abortAfterBytes` resets the stream once that much arrived.
 * `bodyPieces` sends the request body in timed pieces instead of `body`, the last one with END_STREAM; pieces
 * still due when the response is complete are not sent.
 */
export function nodeHttp2(request: ClientRequest & { abortAfterBytes?: number; abortRequestAfterBytes?: number; bodyPieces?: TimedPiece[] }): Promise<ClientResponse> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${request.port}`);
    const chunks: Buffer[] = [];
    let received = 0;
    let finished = false;
    let pieceTimer: NodeJS.Timeout | undefined;
    let result: ClientResponse = { status: 0, headers: {}, body: Buffer.alloc(0) };
    const finish = (error?: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(pieceTimer);
      result = { ...result, body: Buffer.concat(chunks), ...(error ? { error } : {}) };
      session.destroy();
      resolve(result);
    };
    session.on('error', (err) => finish(String(err)));
    const stream = session.request({
      ':method': request.method ?? 'GET',
      ':path': request.path,
      ':authority': request.authority ?? 'upstream.test',
      'x-test-id': request.testId,
      ...request.headers,
    });
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      finish('timeout');
    }, request.timeoutMs ?? 20_000);
    stream.on('response', (headers) => {
      result.status = Number(headers[':status']);
      for (const [name, value] of Object.entries(headers)) if (!name.startsWith(':')) result.headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    });
    stream.on('trailers', (trailers) => {
      result.trailers = {};
      for (const [name, value] of Object.entries(trailers)) result.trailers[name] = String(value);
    });
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (request.abortAfterBytes !== undefined && received >= request.abortAfterBytes) {
        clearTimeout(timer);
        stream.close(http2.constants.NGHTTP2_CANCEL);
        finish('aborted by the client');
      }
    });
    stream.on('end', () => {
      clearTimeout(timer);
      finish();
    });
    stream.on('error', (err) => {
      clearTimeout(timer);
      finish(String(err));
    });
    if (request.bodyPieces) {
      const pieces = request.bodyPieces;
      const next = (i: number): void => {
        pieceTimer = setTimeout(() => {
          if (finished || stream.closed) return;
          if (i === pieces.length - 1) return void stream.end(pieces[i]!.data);
          stream.write(pieces[i]!.data);
          next(i + 1);
        }, pieces[i]!.delayMs);
      };
      if (pieces.length === 0) stream.end();
      else next(0);
    } else if (request.body && request.abortRequestAfterBytes !== undefined) {
      // Send part of the body, then reset the stream: the client gave up mid-upload.
      stream.write(request.body.subarray(0, request.abortRequestAfterBytes), () => {
        setTimeout(() => {
          clearTimeout(timer);
          stream.close(http2.constants.NGHTTP2_CANCEL);
          finish('aborted by the client');
        }, 100);
      });
    } else {
      stream.end(request.body);
    }
  });
}

export interface HttpsAnswer {
  status: number;
  body: string;
  peer: X509Certificate;
}

/** An HTTPS POST to /v1/chat/completions through Envoy's terminating listener on `port`, trusting only `caPem`, asking for `servername`. */
export function requestThrough(port: number, servername: string, authority: string, testId: string, caPem: string, body: string): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port,
        servername,
        ca: caPem,
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { host: authority, 'x-test-id': testId, 'content-type': 'application/json' },
        agent: false,
        timeout: 15_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const peer = (response.socket as import('node:tls').TLSSocket).getPeerX509Certificate();
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString(), peer: peer! });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('no answer within 15 s')));
    request.on('error', reject);
    request.end(body);
  });
}
