/**
 * Body bytes waiting to be handed to a worker, copied as they arrive into a
 * buffer of this body's own, so that `take()` can hand it over without
 * copying again: its ArrayBuffer is transferred to the worker, never a
 * pooled Buffer slice or a view of the HTTP/2 read buffer that other
 * streams' bytes share (gRPC messages arrive as such views, see
 * extproc/transport/message-framing.ts, and are not retained past their
 * handling).
 *
 * The buffer grows by doubling; what `take()` hands over is trimmed to its
 * bytes when more than a quarter of it would be spare, so a transferred
 * body never carries much more memory than its length.
 */
const FIRST_CAPACITY = 4096;

export class PendingBody {
  private buffer: Uint8Array | undefined;
  bytes = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const needed = this.bytes + chunk.length;
    if (this.buffer === undefined || this.buffer.length < needed) this.grow(needed);
    this.buffer!.set(chunk, this.bytes);
    this.bytes = needed;
  }

  /** The pending bytes in one transferable buffer, or undefined when there are none. */
  take(): Uint8Array | undefined {
    const buffer = this.buffer;
    const bytes = this.bytes;
    this.buffer = undefined;
    this.bytes = 0;
    if (buffer === undefined || bytes === 0) return undefined;
    if (bytes === buffer.length) return buffer;
    if (buffer.length - bytes > buffer.length / 4) return buffer.slice(0, bytes);
    return buffer.subarray(0, bytes);
  }

  clear(): void {
    this.buffer = undefined;
    this.bytes = 0;
  }

  private grow(needed: number): void {
    const next = new Uint8Array(Math.max(needed, FIRST_CAPACITY, 2 * (this.buffer?.length ?? 0)));
    if (this.buffer !== undefined && this.bytes > 0) next.set(this.buffer.subarray(0, this.bytes));
    this.buffer = next;
  }
}
