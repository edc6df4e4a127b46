/**
 * Content-Encoding can list several codings, applied in order (RFC 9110
 * §8.4); they are undone in reverse. `identity` means none.
 */
export function parseContentEncoding(header: string): string[] {
  return header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
}
