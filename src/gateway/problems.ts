// Validation collects every problem instead of stopping at the first, so an operator fixes a
// manifest in one pass. A problem is a path into the object plus a message.

export interface Problem {
  /** Dotted path with [i] indices, e.g. "spec.listeners[1].tls.mode"; "" for the whole object. */
  path: string;
  message: string;
}

export function formatProblem(problem: Problem): string {
  return problem.path ? `${problem.path}: ${problem.message}` : problem.message;
}

export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}
