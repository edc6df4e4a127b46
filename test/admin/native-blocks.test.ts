/**
 * ClickHouse's compressed-block framing and the CityHash128 v1.0.2 its
 * checksums use, checked in isolation: the hash against values computed by
 * the hash clickhouse-go checks blocks with (github.com/go-faster/city
 * CH128), the framing byte by byte as ClickHouse lays it out, and the
 * decoder's refusals (checksum, sizes, method, cap).
 */
import * as zlib from 'node:zlib';
import { cityHash128 } from '../../src/admin/clickhouse-http/cityhash128';
import { BodyTooLarge } from '../../src/admin/clickhouse-http/content-encoding';
import { structureFromTypes } from '../../src/admin/clickhouse-http/external-tables';
import { lz4DecodeBlock } from '../../src/admin/clickhouse-http/lz4-block';
import { NativeBlockError, compressNativeBlocks, decompressNativeBlocks, nativeMethod } from '../../src/admin/clickhouse-http/native-blocks';

/** The test input: byte i is ((i*131 + 7) ^ (i >> 8)) & 0xff. */
function pattern(n: number): Buffer {
  const bytes = Buffer.alloc(n);
  for (let i = 0; i < n; i++) bytes[i] = ((i * 131 + 7) ^ (i >> 8)) & 0xff;
  return bytes;
}

// [length, low 64 bits, high 64 bits] of CH128(pattern(length)), from go-faster/city v1.0.1.
const VECTORS: Array<[number, string, string]> = [
  [0, '3df09dfc64c09a2b', '3cb540c392e51e29'],
  [1, '8be55b379cce0e40', '05ab4744478b1cba'],
  [3, 'eb932eee3e24bb6b', 'ffec5144a8fd549d'],
  [4, '87b5fd1e0939603f', 'd7cd69f836435d60'],
  [7, '3e2831dbd31dcf9f', '5959f5dd3c4b0aca'],
  [8, 'ddce5210a6604339', '1db0cb571c6547ac'],
  [9, '8cca603e1a188255', '17e74101b56abab4'],
  [15, '5ebbb7bb47c1913d', 'e253579b35462d5f'],
  [16, '9fe64a51f1964b33', 'deb9d6910a9685c1'],
  [17, '6720305af95ff5e3', 'f08e523be5cc574c'],
  [31, '3c201ff7a7c26725', '1694f3de7f95b294'],
  [32, '609e40d051a1fd39', '078ba164ef1bbe3c'],
  [33, '835d866d16313200', 'b1a38ef8a515f9eb'],
  [63, '9063338a2677fe19', '0ca5515fadb9595f'],
  [64, 'acbfe46ea693ba92', '56cfaee4f6c78c6b'],
  [100, '68fbbfdca6d44994', '0965dc5abf8f6b1a'],
  [127, 'f00e82e948f8d91b', '87ba5d90252340eb'],
  [128, '8b58caab8dd4b516', 'ed7aa45825894bec'],
  [129, '6c509bdceebd97c4', 'bfa9ccd551e7ca43'],
  [159, '9823c3170a7fdc2f', '1d8b785baef9c5a8'],
  [160, 'b47f0d9e49ae4f6f', '20f92513db37be5f'],
  [191, '9954cb92305e7f69', 'fc007b6f4da5f2db'],
  [255, '1731e467f655db79', '7c10e709a6d9cfae'],
  [256, '531d43229a4cd706', '9e43c5025475ea1e'],
  [1000, '584de1536f683ea0', '2d91c304eed4bb77'],
  [4096, 'efae824eb52a84e3', '7a596f56a4843402'],
  [100000, '7788d5a7fe39e85e', '3c637dd85ca779b5'],
];

describe('CityHash128 v1.0.2', () => {
  it.each(VECTORS)('hashes %i bytes as ClickHouse does', (length, low, high) => {
    const hash = cityHash128(pattern(length));
    expect([hash.low.toString(16).padStart(16, '0'), hash.high.toString(16).padStart(16, '0')]).toEqual([low, high]);
  });

  it('reads the input where it lies inside a larger buffer', () => {
    const inner = pattern(300);
    const outer = Buffer.concat([Buffer.from('xyz'), inner, Buffer.from('!')]);
    expect(cityHash128(outer.subarray(3, 303))).toEqual(cityHash128(inner));
  });
});

describe("ClickHouse's compressed blocks", () => {
  const text = Buffer.from('SELECT 1 '.repeat(1000));

  it('frames an LZ4 block as ClickHouse does: checksum, 0x82, sizes with the 9-byte header, a raw LZ4 block', async () => {
    const framed = await compressNativeBlocks(text, 'LZ4');
    expect(framed[16]).toBe(0x82);
    const compressedSize = framed.readUInt32LE(17);
    expect(framed.length).toBe(16 + compressedSize);
    expect(framed.readUInt32LE(21)).toBe(text.length);
    expect(compressedSize).toBeLessThan(text.length / 10);
    const hash = cityHash128(framed.subarray(16));
    expect([framed.readBigUInt64LE(0), framed.readBigUInt64LE(8)]).toEqual([hash.low, hash.high]);
    const out = Buffer.alloc(text.length);
    expect(out.subarray(0, lz4DecodeBlock(framed.subarray(25), out, 0, 0))).toEqual(text);
  });

  it('frames a ZSTD block with method 0x90 and a ZSTD frame inside', async () => {
    const framed = await compressNativeBlocks(text, 'ZSTD', 5);
    expect(framed[16]).toBe(0x90);
    expect(zlib.zstdDecompressSync(framed.subarray(25))).toEqual(text);
  });

  it('cuts the data into blocks of 1 MiB, each decoded on its own', async () => {
    const data = pattern(2 * 1024 * 1024 + 1000);
    for (const method of ['LZ4', 'ZSTD', 'NONE'] as const) {
      const framed = await compressNativeBlocks(data, method);
      const sizes: number[] = [];
      for (let at = 0; at < framed.length; at += 16 + framed.readUInt32LE(at + 17)) sizes.push(framed.readUInt32LE(at + 21));
      expect(sizes).toEqual([1048576, 1048576, 1000]);
      // Buffer.equals: jest's toEqual walks megabytes byte by byte, slowly.
      expect((await decompressNativeBlocks(framed, data.length)).equals(data)).toBe(true);
    }
  });

  it('refuses a block whose checksum does not match, unless checksums are off', async () => {
    const framed = await compressNativeBlocks(text, 'LZ4');
    framed[40] = framed[40]! ^ 1;
    await expect(decompressNativeBlocks(framed, 1 << 20)).rejects.toThrow(/checksum does not match/);
    framed[40] = framed[40]! ^ 1;
    framed[3] = framed[3]! ^ 1;
    expect(await decompressNativeBlocks(framed, 1 << 20, false)).toEqual(text);
  });

  it('stops before inflating a block that would pass the cap', async () => {
    const framed = await compressNativeBlocks(Buffer.alloc(4 << 20), 'LZ4');
    expect(framed.length).toBeLessThan(100_000);
    await expect(decompressNativeBlocks(framed, 3 << 20)).rejects.toThrow(BodyTooLarge);
  });

  it('refuses cut-short blocks, lying sizes and unknown methods, saying where', async () => {
    const framed = await compressNativeBlocks(text, 'LZ4');
    await expect(decompressNativeBlocks(framed.subarray(0, framed.length - 1), 1 << 20)).rejects.toThrow(/cut short/);
    const lying = Buffer.from(framed);
    lying.writeUInt32LE(text.length - 1, 21);
    await expect(decompressNativeBlocks(lying, 1 << 20, false)).rejects.toThrow(NativeBlockError);
    const delta = Buffer.from(framed);
    delta[16] = 0x92;
    await expect(decompressNativeBlocks(delta, 1 << 20, false)).rejects.toThrow(/method 0x92; LZ4 \(0x82\), ZSTD \(0x90\) and none \(0x02\)/);
  });

  it('takes network_compression_method as ClickHouse names it', async () => {
    expect([nativeMethod(undefined), nativeMethod('lz4'), nativeMethod('LZ4HC'), nativeMethod('ZSTD'), nativeMethod('none')]).toEqual(['LZ4', 'LZ4', 'LZ4', 'ZSTD', 'NONE']);
    expect(() => nativeMethod('Delta')).toThrow(/LZ4, ZSTD or NONE; got "Delta"/);
  });
});

describe('external table types', () => {
  it('names the columns _1, _2… and keeps commas inside types', () => {
    expect(structureFromTypes("UInt32, Map(String, Array(UInt8)),Enum8('a,b' = 1),String")).toBe("_1 UInt32, _2 Map(String, Array(UInt8)), _3 Enum8('a,b' = 1), _4 String");
  });
});
