/**
 * An HTTPS request to the local server's admin port, pinned to the certificate
 * the server says it serves.
 *
 * `query`/`status`/`replay --data-dir` find a running server through the
 * data directory and connect to 127.0.0.1, while its certificate names the
 * service (egress-capture.egress-capture.svc …) and is often signed by a
 * private CA: name verification would fail, and turning verification off
 * would send the admin credentials to whoever holds the port. The server
 * writes its certificate's SHA-256 fingerprint into the data directory (which
 * only its user can read), so the CLI accepts exactly that certificate.
 *
 * The TLS connection is made and checked first and only then handed to the
 * HTTP request, so not a byte (credentials, SQL) is written to an impostor.
 */
import * as https from 'node:https';
import * as tls from 'node:tls';

/** The port answered with another certificate than the data directory names. */
export class CertificatePinMismatch extends Error {}

export async function pinnedFetch(url: URL, init: RequestInit, certSha256: string): Promise<Response> {
  const socket = await pinnedSocket(url, certSha256);
  const headers = new Headers(init.headers);
  const body = init.body === undefined || init.body === null ? undefined : Buffer.from(await new Response(init.body).arrayBuffer());
  return new Promise<Response>((resolve, reject) => {
    const request = https.request(
      url,
      {
        method: init.method ?? 'GET',
        headers: { ...Object.fromEntries(headers), ...(body === undefined ? {} : { 'content-length': String(body.length) }) },
        // Without an agent, node:http uses this connection (an agent would open its own).
        createConnection: () => socket,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const answer = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (value !== undefined) answer.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          resolve(new Response(Buffer.concat(chunks), { status: response.statusCode ?? 0, statusText: response.statusMessage, headers: answer }));
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function pinnedSocket(url: URL, certSha256: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // Verification by chain and name is replaced by the pin, checked below before anything is sent.
    const socket = tls.connect({ host, port: Number(url.port || 443), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const presented = socket.getPeerX509Certificate()?.fingerprint256;
      if (presented !== certSha256) {
        socket.destroy();
        reject(
          new CertificatePinMismatch(
            `the admin port at ${url.origin} presented certificate SHA-256 ${presented ?? '(none)'}, but the server that owns the data directory serves ${certSha256}: not sending credentials or queries to it`,
          ),
        );
        return;
      }
      socket.off('error', reject);
      resolve(socket);
    });
  });
}
