/**
 * Body bytes waiting to be handed to a worker. Chunks are held by reference
 * (they are views on the received gRPC message) until `take()`, which copies
 * them once into a Uint8Array with its own ArrayBuffer — never a pooled
 * Buffer slice — so it can be transferred to the worker without copying
 * again and without detaching memory anyone else uses.
 */
export class PendingBody {
  private chunks: Uint8Array[] = [];
  bytes = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
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
