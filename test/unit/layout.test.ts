// The architecture the folders promise, checked on the sources: one direction of imports (the OTLP
// data model at the bottom, plumbing beside it, components above, services on top), no import
// circles, no folder holding more than a quarter of the code, and the benchmark apart from the tests.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Relative imports of a file (type-only ones too: they tie modules as much), as repository paths. */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)\b[^;]*?from '(\.[^']+)'/gm)].map((m) => normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
}

const SERVICES = sources('services');
const GRAPH = new Map(SERVICES.map((f) => [f, imports(f)]));

/** services/<folder>/..., or the file itself for the top-level ones (app.ts, cli.ts, config.ts). */
const folderOf = (file: string): string => file.split('/').slice(1, -1)[0] ?? file.split('/')[1]!;

describe('layout', () => {
  it('has no import circles in services/', () => {
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      state.set(file, 'open');
      for (const dep of GRAPH.get(file) ?? []) {
        if (state.get(dep) === 'open') circles.push([...path.slice(path.indexOf(dep)), dep].join(' -> '));
        else if (!state.has(dep)) visit(dep, [...path, dep]);
      }
      state.set(file, 'done');
    };
    for (const file of SERVICES) if (!state.has(file)) visit(file, [file]);
    assert.deepEqual(circles, []);
  });

  it('imports only downward: the data model and plumbing know no component, components know no service', () => {
    const below: Record<string, string[]> = {
      otlp: ['otlp'],
      shared: ['shared', 'otlp'],
      receivers: ['receivers', 'processors', 'exporters', 'component', 'shared', 'otlp'],
      processors: ['processors', 'component', 'shared', 'otlp'],
      exporters: ['exporters', 'processors', 'component', 'shared', 'otlp'],
    };
    const wrong: string[] = [];
    for (const [file, deps] of GRAPH) {
      const allowed = below[folderOf(file)];
      if (allowed === undefined) continue;
      for (const dep of deps) if (!allowed.includes(folderOf(dep))) wrong.push(`${file} imports ${dep}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('keeps every folder of services/ under a quarter of its lines', () => {
    const lines = new Map<string, number>();
    let total = 0;
    for (const file of SERVICES) {
      const n = readFileSync(join(ROOT, file), 'utf8').split('\n').length;
      lines.set(folderOf(file), (lines.get(folderOf(file)) ?? 0) + n);
      total += n;
    }
    const over = [...lines].filter(([, n]) => n > total / 4).map(([folder, n]) => `${folder}: ${Math.round((100 * n) / total)}%`);
    assert.deepEqual(over, []);
  });

  it('keeps bench/ apart from test/', () => {
    const offending = sources('bench').flatMap((f) => imports(f).filter((dep) => dep.startsWith('test/')).map((dep) => `${f} imports ${dep}`));
    assert.deepEqual(offending, []);
  });
});
