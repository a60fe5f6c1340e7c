// Keeps the house free of import cycles: between files, and between the folders of src/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../stand-ins/paths.js';

const srcDir = path.join(repoRoot, 'src');
// Static imports and re-exports (type-only ones too: a cycle of types is still a tangle) and dynamic import().
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(srcDir)) {
    const from = path.relative(srcDir, file);
    const targets = new Set<string>();
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = (match[1] ?? match[2])!;
      targets.add(path.relative(srcDir, path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'))));
    }
    graph.set(from, targets);
  }
  return graph;
}

/** Strongly connected components with more than one member, or a member that imports itself (Tarjan). */
export function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return found;
}

function folderGraph(files: ReadonlyMap<string, ReadonlySet<string>>): Map<string, Set<string>> {
  const folder = (file: string) => path.dirname(file);
  const graph = new Map<string, Set<string>>();
  for (const [file, targets] of files) {
    const edges = graph.get(folder(file)) ?? new Set<string>();
    for (const target of targets) if (folder(target) !== folder(file)) edges.add(folder(target));
    graph.set(folder(file), edges);
  }
  return graph;
}

describe('imports', () => {
  it('finds a planted cycle (the checker itself works)', () => {
    const graph = new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])], ['d', new Set(['a'])]]);
    assert.deepEqual(cycles(graph), [['a', 'b', 'c']]);
  });

  it('no file of src/ imports a file that imports it back, directly or through others', () => {
    const graph = importGraph();
    assert.ok(graph.size > 20, 'src/ was not found');
    assert.deepEqual(cycles(graph), []);
  });

  it('no folder of src/ imports a folder that imports it back', () => {
    assert.deepEqual(cycles(folderGraph(importGraph())), []);
  });
});
