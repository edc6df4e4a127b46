/**
 * Decides whether a body is kept from its Content-Type: the media type
 * (parameters such as "; charset=utf-8" ignored, case-insensitive) must start
 * with one of the configured prefixes, e.g. "application/json" also admits
 * "application/json-seq" the way the EgressGateway API describes a prefix.
 */
export class ContentTypeFilter {
  private readonly prefixes: string[];

  constructor(includeContentTypes: readonly string[]) {
    this.prefixes = includeContentTypes.map((type) => type.trim().toLowerCase()).filter((type) => type !== '');
  }

  /** '' when the body should be kept, otherwise the reason it is not. */
  reasonToSkip(contentType: string | undefined): string {
    if (contentType === undefined || contentType === '') return 'content_type_unknown';
    const semicolon = contentType.indexOf(';');
    const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
    for (const prefix of this.prefixes) {
      if (mediaType.startsWith(prefix)) return '';
    }
    return 'content_type_excluded';
  }
}
