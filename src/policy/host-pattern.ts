/**
 * Authority patterns of a capture policy: an exact host (`api.openai.com`) or
 * a glob whose `*` stands for one or more whole DNS labels
 * (`*.amazonaws.com` matches `bedrock-runtime.us-east-1.amazonaws.com`, not
 * `amazonaws.com`). Matching ignores case and the port, unless the pattern
 * names a port itself (`internal-llm:8443`).
 */
export interface HostPattern {
  readonly source: string;
  /** The same match as an RE2 regular expression over the whole :authority (for Envoy's safe_regex). */
  readonly authorityRegex: string;
  matches(authority: string): boolean;
}

const LABEL = '[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?';
const PATTERN_SYNTAX = /^(\*\.)?([a-z0-9_*-]+\.)*[a-z0-9_*-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/;

/** Why `source` is not a pattern, or undefined when it is one. */
export function hostPatternProblem(source: string): string | undefined {
  const text = source.toLowerCase();
  if (text === '') return 'must not be empty';
  if (!PATTERN_SYNTAX.test(text)) return `${JSON.stringify(source)} is not a host name, a host:port, or a glob like *.example.com`;
  if (/\*[^.]|[^.]\*/.test(text.replace(/:\d+$/, ''))) return `${JSON.stringify(source)}: "*" must stand for whole labels (like *.example.com)`;
  return undefined;
}

export function compileHostPattern(source: string): HostPattern {
  const text = source.toLowerCase();
  const withPort = /:\d+$/.test(text) && !text.endsWith(']');
  const escaped = text
    .split('.')
    .map((label) => (label === '*' ? `${LABEL}(?:\\.${LABEL})*` : label.replace(/[-[\]{}()+?.,\\^$|#]/g, '\\$&')))
    .join('\\.');
  // A pattern without a port matches the host on any port (or none).
  const body = `^${escaped}${withPort ? '' : '(?::[0-9]+)?'}$`;
  const regex = new RegExp(body, 'i');
  return {
    source,
    authorityRegex: `(?i)${body}`,
    matches: (authority: string): boolean => regex.test(authority),
  };
}
