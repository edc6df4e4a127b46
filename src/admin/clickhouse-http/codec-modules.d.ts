// The parts of the codec packages without type declarations of their own that content-encoding.ts uses.

declare module 'lzma-native' {
  import type { Transform } from 'node:stream';
  /** liblzma's .xz decoder as a stream; `memlimit` bounds the decoder's own memory (its dictionary), not the output. */
  export function createDecompressor(options?: { memlimit?: number }): Transform;
  /** An .xz stream (easy encoder at `preset` 0..9); resolves when liblzma is done, off the main thread. */
  export function compress(input: Uint8Array, options: { preset?: number }): Promise<Buffer>;
}

declare module 'seek-bzip' {
  interface ByteSink {
    writeByte(byte: number): void;
  }
  /** Decodes bzip2 data (every concatenated stream when `multistream`) byte by byte into `output`. */
  export function decode(input: Buffer, output: ByteSink, multistream?: boolean): void;
}
