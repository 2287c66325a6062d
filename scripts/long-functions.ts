// Lists the functions of src/ and bench/ longer than FUNCTION_LINES_MAX lines (tests aside), for
// `npm run lint`: a function that long holds more than one idea, and the next engineer has to
// read all of it to change any of it. Exit code 1 when there is one.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { readArguments } from '../src/cli/args.ts';

/** The longest a function may be, its signature and closing brace included. */
export const FUNCTION_LINES_MAX = 70;
const ROOT = join(import.meta.dirname, '..');
const DIRECTORIES = ['src', 'bench'];

readArguments(process.argv.slice(2), {
  command: 'node scripts/long-functions.ts',
  positionals: [],
  description: `Lists the functions of src/ and bench/ over ${FUNCTION_LINES_MAX} lines; exit code 1 if any.`,
});

interface LongFunction {
  readonly where: string;
  readonly name: string;
  readonly lines: number;
}

function nameOf(node: ts.Node): string {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name) {
    return node.name.getText();
  }
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText();
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText();
  if (parent && ts.isCallExpression(parent))
    return `callback of ${parent.expression.getText().slice(0, 40)}`;
  return '(anonymous)';
}

function longFunctionsOf(path: string): LongFunction[] {
  const text = readFileSync(path, 'utf8');
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const end = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > FUNCTION_LINES_MAX) {
        found.push({ where: `${relative(ROOT, path)}:${start + 1}`, name: nameOf(node), lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

const files = DIRECTORIES.flatMap((dir) =>
  readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter(
      (entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'),
    )
    .map((entry) => join(entry.parentPath, entry.name)),
);
const long = files.flatMap(longFunctionsOf).sort((a, b) => b.lines - a.lines);
for (const { where, name, lines } of long) console.log(`${lines} lines  ${name}  ${where}`);
if (long.length > 0) {
  console.log(`${long.length} function(s) over ${FUNCTION_LINES_MAX} lines`);
  process.exitCode = 1;
}
