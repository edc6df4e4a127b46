/**
 * Body bytes waiting to be handed to a worker. gRPC messages arrive as views
 * of Node's HTTP/2 read buffer, which other streams' bytes share
 * (extproc/transport/message-framing.ts), so each kept chunk is copied as
 * it arrives (a small copy comes from Node's buffer pool). `take()` joins
 * them into one Uint8Array with its own ArrayBuffer — never a pooled slice —
 * so it can be transferred to the worker without copying again and without
 * detaching memory anyone else uses.
 */
export class PendingBody {
  private chunks: Uint8Array[] = [];
  bytes = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const copy = Buffer.allocUnsafe(chunk.length);
    copy.set(chunk);
    this.chunks.push(copy);
    this.bytes += chunk.length;
  }

  /** The pending bytes in one transferable buffer, or undefined when there are none. */
  take(): Uint8Array | undefined {
    if (this.bytes === 0) return undefined;
    const out = new Uint8Array(this.bytes);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    this.chunks = [];
    this.bytes = 0;
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.bytes = 0;
  }
}
