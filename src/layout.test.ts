// The layout rules of the design, checked on every import of the tree rather than kept by care:
// features never import each other; the platform never imports a feature; only app.ts knows
// every feature; only the process entries touch `process`; code of src/, bench/, scripts/ and
// tooling/ imports no test; src/ imports none of the others.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The code whose imports are checked (tests included: they may import what they test). */
const CHECKED = ['src', 'bench', 'scripts', 'tooling'];
/** The process entries: they read the environment and the command line, and exit. */
const ENTRIES = ['src/main.ts', 'src/cli/'];
/**
 * Files outside the entries that touch `process`, each with its reason: the data-directory lock
 * writes its owner's pid and command into the lock, probes whether an owner still runs, and
 * releases itself when the process exits, whoever started it.
 */
const PROCESS_ALLOWED = ['src/platform/data-dir-lock.ts'];
/** Files of src/ besides app.ts that import a feature, and which: each command works on one. */
const FEATURE_IMPORTS_ALLOWED: Readonly<Record<string, string>> = {
  // The import writes the scoring interests to the scoring store.
  'src/cli/import-interests.ts': 'scoring',
};

interface Source {
  /** Path from the repository's root, with forward slashes. */
  readonly path: string;
  readonly text: string;
  /** What it imports, as paths from the root (packages and node: modules left out). */
  readonly imports: readonly string[];
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mjs|cjs|js)$/.test(entry.name))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .filter((path) => !path.includes('/public/') && !path.includes('/results/'));
}

/** Static imports, re-exports and dynamic imports of relative specifiers, resolved. */
function importsOf(path: string, text: string): string[] {
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1] ?? '');
  return specifiers
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(ROOT, resolve(ROOT, dirname(path), specifier)));
}

const sources: Source[] = CHECKED.flatMap(filesUnder).map((path) => {
  const text = readFileSync(join(ROOT, path), 'utf8');
  return { path, text, imports: importsOf(path, text) };
});
const isTest = (path: string) => /\.test\.ts$/.test(path);
const featureOf = (path: string) => /^src\/features\/([^/]+)\//.exec(path)?.[1];

/** Each "file → import" pair breaking a rule, for a readable failure. */
function offenders(
  from: (source: Source) => boolean,
  forbidden: (imported: string, source: Source) => boolean,
): string[] {
  return sources
    .filter(from)
    .flatMap((source) =>
      source.imports
        .filter((imported) => forbidden(imported, source))
        .map((i) => `${source.path} → ${i}`),
    );
}

describe('the layout', () => {
  test('finds the tree and its imports', () => {
    expect(sources.some((source) => source.path === 'src/app.ts')).toBe(true);
    expect(sources.find((source) => source.path === 'src/app.ts')?.imports).toContain(
      'src/features/shop/shop.routes.ts',
    );
  });

  test('features never import each other', () => {
    expect(
      offenders(
        (source) => featureOf(source.path) !== undefined,
        (imported, source) => {
          const feature = featureOf(imported);
          return feature !== undefined && feature !== featureOf(source.path);
        },
      ),
    ).toEqual([]);
  });

  test('the platform imports only the platform', () => {
    expect(
      offenders(
        (source) => source.path.startsWith('src/platform/') && !isTest(source.path),
        (imported) => !imported.startsWith('src/platform/'),
      ),
    ).toEqual([]);
  });

  test('only app.ts knows every feature; a command may know the one it works on', () => {
    expect(
      offenders(
        (source) =>
          source.path.startsWith('src/') &&
          featureOf(source.path) === undefined &&
          source.path !== 'src/app.ts' &&
          !isTest(source.path),
        (imported, source) => {
          const feature = featureOf(imported);
          return feature !== undefined && FEATURE_IMPORTS_ALLOWED[source.path] !== feature;
        },
      ),
    ).toEqual([]);
  });

  test('only the process entries touch process', () => {
    const touching = sources
      .filter((source) => source.path.startsWith('src/') && !isTest(source.path))
      .filter((source) => /\bprocess\.[a-zA-Z]/.test(source.text.replace(/\/\/.*$/gm, '')))
      .map((source) => source.path)
      .filter((path) => !ENTRIES.some((entry) => path.startsWith(entry)));
    expect(touching).toEqual(PROCESS_ALLOWED);
  });

  test('code imports no test, and the service imports nothing outside src', () => {
    expect(
      offenders(
        (source) => !isTest(source.path),
        (imported) => imported.startsWith('test/') || isTest(imported),
      ),
    ).toEqual([]);
    expect(
      offenders(
        (source) => source.path.startsWith('src/') && !isTest(source.path),
        // package.json: the version the service reports.
        (imported) => !imported.startsWith('src/') && imported !== 'package.json',
      ),
    ).toEqual([]);
  });
});
