/**
 * The source folders follow the data flow (extproc wire → capture →
 * processing → spool → sinks, with config and service composing them), and
 * an import between folders points one way only. A cycle between two folders
 * means neither can be read, tested or moved without the other; this test
 * names the files that close one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');
const SOURCE_ROOTS = ['src', 'workers'];

interface ImportEdge {
  fromFile: string;
  toFile: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

/** Every relative import and re-export (type-only ones too: they tie the folders' meaning together all the same). */
function importEdges(): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const root of SOURCE_ROOTS) {
    for (const file of sourceFiles(path.join(REPO, root))) {
      const text = fs.readFileSync(file, 'utf8');
      for (const match of text.matchAll(/\b(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        edges.push({ fromFile: path.relative(REPO, file), toFile: path.relative(REPO, path.resolve(path.dirname(file), match[1]!)) });
      }
    }
  }
  return edges;
}

const folderOf = (file: string): string => path.dirname(file);

/** Strongly connected groups of more than one folder (Tarjan). */
function folderCycles(edges: ImportEdge[]): string[][] {
  const graph = new Map<string, Set<string>>();
  for (const { fromFile, toFile } of edges) {
    const from = folderOf(fromFile);
    const to = folderOf(toFile);
    if (!graph.has(from)) graph.set(from, new Set());
    if (!graph.has(to)) graph.set(to, new Set());
    if (from !== to) graph.get(from)!.add(to);
  }
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node)!) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(node, Math.min(low.get(node)!, index.get(target)!));
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return groups;
}

describe('folder dependencies', () => {
  const edges = importEdges();

  it('finds the imports it checks', () => {
    // A parser that silently found nothing would pass every rule below.
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ fromFile: 'src/processing/build-row.ts', toFile: 'src/capture/exchange-snapshot' });
  });

  it('has no import cycle between folders', () => {
    const report = folderCycles(edges).map((group) => {
      const inGroup = new Set(group);
      const closing = edges
        .filter((edge) => folderOf(edge.fromFile) !== folderOf(edge.toFile) && inGroup.has(folderOf(edge.fromFile)) && inGroup.has(folderOf(edge.toFile)))
        .map((edge) => `  ${edge.fromFile} → ${edge.toFile}`);
      return `${group.join(' ⇄ ')}\n${[...new Set(closing)].join('\n')}`;
    });
    expect(report).toEqual([]);
  });

  it('keeps the configuration at the top: only the commands and the service that composes the parts read src/config', () => {
    // A part receives its settings (each declares the interface it needs); reading the
    // configuration itself would tie it to every option and bring the cycles back.
    const readers = new Set(['src/cli', 'src/config', 'src/service']);
    const reaching = edges.filter((edge) => folderOf(edge.toFile) === 'src/config' && !readers.has(folderOf(edge.fromFile))).map((edge) => `${edge.fromFile} → ${edge.toFile}`);
    expect(reaching).toEqual([]);
  });
});
