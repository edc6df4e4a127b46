import { formatTimestampNs } from '../../src/processing/build-row';

describe('formatTimestampNs', () => {
  it('writes epoch nanoseconds as DateTime64(9) text in UTC, nanoseconds kept', () => {
    expect(formatTimestampNs('1765054000123456789')).toBe('2025-12-06 20:46:40.123456789');
    expect(formatTimestampNs('9999999999999999999')).toBe('2286-11-20 17:46:39.999999999');
  });

  it('moves to the next second exactly at its boundary (rows of one second share the formatted second)', () => {
    expect(formatTimestampNs('1765054000999999999')).toBe('2025-12-06 20:46:40.999999999');
    expect(formatTimestampNs('1765054001000000000')).toBe('2025-12-06 20:46:41.000000000');
    expect(formatTimestampNs('1765054000000000001')).toBe('2025-12-06 20:46:40.000000001');
  });

  it('handles the first second of the epoch and values with fewer than ten digits', () => {
    expect(formatTimestampNs('0')).toBe('1970-01-01 00:00:00.000000000');
    expect(formatTimestampNs('999999999')).toBe('1970-01-01 00:00:00.999999999');
    expect(formatTimestampNs('1000000000')).toBe('1970-01-01 00:00:01.000000000');
  });
});
