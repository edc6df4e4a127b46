/**
 * Finds the capture service that owns a data directory. chdb lets one
 * process open a directory, so `query`, `status` and `replay` talk to a
 * running server through its admin port; the server leaves its admin URL and
 * pid in egress-capture-server.json while it runs.
 */
import * as path from 'node:path';
import { SERVER_INFO_FILE, type ServerInfo } from '../service/capture-service';
import { readJsonFile } from '../spool/atomic-file';

/** Where a running server's admin port answers; certSha256 is the certificate to pin when it speaks HTTPS. */
export interface RunningServerAdmin {
  url: string;
  certSha256?: string;
}

/** The admin port of a live server that owns `dataDir`, if any. */
export function runningServerAdmin(dataDir: string): RunningServerAdmin | undefined {
  const info = readJsonFile<ServerInfo>(path.join(dataDir, SERVER_INFO_FILE));
  if (info === undefined) return undefined;
  try {
    process.kill(info.pid, 0);
    return { url: info.adminUrl, certSha256: info.adminCertSha256 };
  } catch {
    return undefined; // stale file from a server that died
  }
}
