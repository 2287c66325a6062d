// Owns the command lines of the process entries (`npm start`, `npm run db:migrate`,
// `npm run interests:import`): `--help` prints the usage and exits 0; anything the command does
// not take prints it to stderr and exits 2, before any configuration is read or anything is done.
import { parseArgs } from 'node:util';

/** What a command says about itself: how to call it, and what it does. */
export interface Usage {
  readonly command: string;
  /** The positional arguments it takes, in order (all required). */
  readonly positionals: readonly string[];
  readonly description: string;
}

function usageText({ command, positionals, description }: Usage): string {
  const args = positionals.map((p) => ` ${p}`).join('');
  return (
    `usage: ${command}${args}\n\n${description}\n\n` +
    'Configuration comes from the environment (and .env with npm start); the README lists it.\n'
  );
}

/** The positional arguments of `argv` (process.argv without node and the script). */
const parse = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    options: { help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });

/** The positional arguments of `argv` (process.argv without node and the script). */
export function readArguments(argv: readonly string[], usage: Usage): string[] {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usageText(usage)}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    process.stdout.write(usageText(usage));
    process.exit(0);
  }
  if (parsed.positionals.length !== usage.positionals.length) {
    process.stderr.write(usageText(usage));
    process.exit(2);
  }
  return parsed.positionals;
}
