/**
 * Kept body bytes are copied out of the views they arrive in (Node's HTTP/2
 * read buffer, shared with other streams) and handed to a worker as one
 * buffer of their own, transferable without detaching anyone else's memory.
 */
import { PendingBody } from '../../src/capture/pending-body';

describe('PendingBody', () => {
  it('hands over exactly the bytes pushed, in order, in a buffer no one else holds', () => {
    const shared = Buffer.from('0123456789abcdefghij'.repeat(1000));
    const pending = new PendingBody();
    const pieces = [shared.subarray(0, 10), shared.subarray(10, 5000), Buffer.alloc(0), shared.subarray(5000, 20000)];
    for (const piece of pieces) pending.push(piece);
    expect(pending.bytes).toBe(20000);
    // The views' memory is overwritten after the push: the pending copy must not change.
    shared.fill(0x2e);
    const taken = pending.take()!;
    expect(Buffer.from(taken).toString()).toBe('0123456789abcdefghij'.repeat(1000));
    expect(taken.buffer).not.toBe(shared.buffer);
    // The transfer moves the whole ArrayBuffer: it must hold these bytes and nothing else.
    expect(taken.buffer.byteLength).toBe(taken.length);
    expect(pending.bytes).toBe(0);
    expect(pending.take()).toBeUndefined();
  });

  it('starts over after take and after clear', () => {
    const pending = new PendingBody();
    pending.push(Buffer.from('first'));
    expect(Buffer.from(pending.take()!).toString()).toBe('first');
    pending.push(Buffer.from('second'));
    pending.clear();
    pending.push(Buffer.from('third'));
    expect(Buffer.from(pending.take()!).toString()).toBe('third');
  });
});
