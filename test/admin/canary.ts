/**
 * What the policy tests watch for: a canary file outside the data directory
 * (its token must never appear in a response, the directory must never gain
 * a file) and an HTTP listener that counts every request a query makes.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Canary {
  /** Directory outside the data directory: holds only canary.txt, and must keep it that way. */
  outside: string;
  /** canary.txt, containing `token`. */
  file: string;
  token: string;
  /** A URL on the listener; `hits()` counts requests to it. */
  url: string;
  hits(): number;
  close(): Promise<void>;
}

export async function startCanary(): Promise<Canary> {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-capture-canary-'));
  const token = `CANARY-${process.pid}-${Date.now()}`;
  const file = path.join(outside, 'canary.txt');
  fs.writeFileSync(file, `${token}\n`);
  let hits = 0;
  const listener = http.createServer((_req, res) => {
    hits++;
    res.end(`${token}\n`);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  return {
    outside,
    file,
    token,
    url: `http://127.0.0.1:${(listener.address() as AddressInfo).port}/x.csv`,
    hits: () => hits,
    async close() {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      fs.rmSync(outside, { recursive: true, force: true });
    },
  };
}
