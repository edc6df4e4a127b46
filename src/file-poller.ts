/**
 * Notices when files the process read change on disk (certificates, the
 * capture policy), by polling their stat.
 *
 * Polling, not inotify: stat follows symlinks, so it sees Kubernetes swap a
 * mounted Secret's or ConfigMap's `..data` link, where a watch on the old
 * target would not.
 *
 * The baseline is taken synchronously when the poller is made, so make it
 * just before reading the files: a change written after that read is always
 * seen. (fs.watchFile takes its baseline on libuv's thread pool some time
 * after it is called; a rotation written in between, on a busy pool, became
 * the baseline and was never noticed.) A spurious call is possible (the files
 * changed between the baseline and the read), so the reader compares what it
 * reads with what it has.
 */
import * as fs from 'node:fs';

/** What tells one version of a file from another; undefined while it cannot be stat'ed. */
function fingerprint(stats: fs.Stats | undefined): string | undefined {
  return stats === undefined ? undefined : `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

function statNow(file: string): string | undefined {
  try {
    return fingerprint(fs.statSync(file));
  } catch {
    return undefined;
  }
}

export class FilePoller {
  private seen: Array<string | undefined>;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly files: readonly string[]) {
    this.seen = files.map(statNow);
  }

  /** Calls `onChange` (at most once per poll) whenever any file differs from what was last seen. */
  start(intervalMs: number, onChange: () => void): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.poll(onChange), intervalMs);
    // Watching alone must not keep the process alive.
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(onChange: () => void): Promise<void> {
    // A slow disk must not pile up stats.
    if (this.polling) return;
    this.polling = true;
    try {
      const now = await Promise.all(this.files.map((file) => fs.promises.stat(file).then(fingerprint, () => undefined)));
      if (this.timer === undefined || now.every((value, i) => value === this.seen[i])) return;
      this.seen = now;
      onChange();
    } finally {
      this.polling = false;
    }
  }
}
