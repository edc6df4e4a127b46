/**
 * Authority patterns of a capture policy: an exact host (`api.openai.com`) or
 * a glob whose `*` stands for one or more whole DNS labels
 * (`*.amazonaws.com` matches `bedrock-runtime.us-east-1.amazonaws.com`, not
 * `amazonaws.com`). Matching ignores case and the port, unless the pattern
 * names a port itself (`internal-llm:8443`).
 */
export interface HostPattern {
  readonly source: string;
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

function stripPort(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.lastIndexOf(':');
  return colon >= 0 && /^\d+$/.test(authority.slice(colon + 1)) ? authority.slice(0, colon) : authority;
}

export function compileHostPattern(source: string): HostPattern {
  const text = source.toLowerCase();
  const withPort = /:\d+$/.test(text) && !text.endsWith(']');
  const escaped = text
    .split('.')
    .map((label) => (label === '*' ? `${LABEL}(?:\\.${LABEL})*` : label.replace(/[-[\]{}()+?.,\\^$|#]/g, '\\$&')))
    .join('\\.');
  const regex = new RegExp(`^${escaped}$`);
  return {
    source,
    matches(authority: string): boolean {
      const candidate = authority.toLowerCase();
      return regex.test(withPort ? candidate : stripPort(candidate));
    },
  };
}
