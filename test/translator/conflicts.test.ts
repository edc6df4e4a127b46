// Conflict resolution and the --status summary.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/schema-validator';
import { runTranslate } from './run-command';

const INPUT = readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'translator', 'conflicts', 'in.yaml'), 'utf8');

describe('translate --status', () => {
  it('reports winners and losers deterministically', async () => {
    const run = await runTranslate(['--status', '-f', '-'], INPUT);
    expect(run.code).toBe(0);
    const status = parse(run.stdout) as Array<Record<string, string>>;
    const summary = status.map((s) => `${s.kind} ${s.name}${s.parent ? ` -> ${s.parent}` : ''}: ${s.state} ${s.reason}`);
    expect(summary).toEqual([
      'Backend cache: Accepted Accepted',
      'Backend db: Accepted Accepted',
      'Backend db: Conflicted DuplicateName',
      'EgressGateway infra/shared: Accepted Accepted',
      'EgressGateway infra/shared: Conflicted DuplicateName',
      'TCPRoute infra/a-newer -> infra/shared/pg: Conflicted RouteConflict',
      'TCPRoute infra/cache-a -> infra/shared/cache: Accepted Accepted',
      'TCPRoute infra/cache-b -> infra/shared/cache: Conflicted RouteConflict',
      'TCPRoute infra/z-older -> infra/shared/pg: Accepted Accepted',
      'TCPRoute other-team/mq -> infra/shared/mq: NotAccepted NotAllowedByListeners',
    ]);
    expect(run.stderr).toMatch(/warning: TCPRoute infra\/a-newer -> infra\/shared\/pg: conflicted/);
  });

  it('does not depend on input order', async () => {
    const reversed = INPUT.split(/^---$/m).reverse().join('\n---\n');
    const a = await runTranslate(['-f', '-'], INPUT);
    const b = await runTranslate(['-f', '-'], reversed);
    const strip = (text: string) => text.replace(/<stdin> document \d+/g, '<stdin> document N');
    expect(strip(b.stdout)).toBe(strip(a.stdout));
    // The older Backend "db" (old-db.example.com) won.
    expect(a.stdout).toContain('hostname: old-db.example.com');
    expect(a.stdout).not.toContain('new-db.example.com');
  });
});

describe('translate command errors', () => {
  it('exits 2 with every problem and its path on invalid input', async () => {
    const bad = INPUT.replace('{name: pg, protocol: TCP, port: 5432}', '{name: pg, protocol: TCPX, port: 5432}').replace('sectionName: cache}', 'sectionName: cachex}');
    const run = await runTranslate(['-f', '-'], bad);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('error: <stdin> document 1 (EgressGateway infra/shared): spec.listeners[0].protocol: "TCPX" is not one of TCP, TLS, HTTP, HTTPS, UDP');
  });

  it('rejects a sectionName that names no listener', async () => {
    const run = await runTranslate(['-f', '-'], INPUT.replace('sectionName: cache}', 'sectionName: cachex}'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/spec\.parentRefs\[0\]\.sectionName: "cachex" names no listener of EgressGateway infra\/shared/);
  });

  it('rejects bad usage', async () => {
    expect((await runTranslate([])).code).toBe(2);
    expect((await runTranslate(['-f', '-', '--target', 'nginx'])).stderr).toMatch(/--target must be envoy-gateway or envoy/);
    expect((await runTranslate(['-f', '-', '--capture-service', 'nope'])).code).toBe(2);
    expect((await runTranslate(['-f', '/nonexistent/file.yaml'])).stderr).toMatch(/cannot read/);
  });
});
