// Runs the README's shell examples as written, against the service started as `npm start` starts
// it (embedded, on a fresh data directory, in a directory of its own), with only the address
// `localhost:8080` pointed at that process. Each block runs whole in bash with `set -e`, and curl
// fails on an HTTP error status, so every command must succeed; where the README shows an answer
// (a comment holding JSON: `# {...}` after a command, or at the end of its line), the
// command's output must be that JSON, `…` standing for any text; `# … empty body` means no output.
// A block that is a command for the project rather than a call to the service (install, test,
// bench, Docker) is not run here, and is listed below with where it is run instead; a new block
// must be one or the other, or this test fails.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { npmStartArguments, REPOSITORY, startService } from '../support/processes.ts';

/** This file's loopback port, for the service the examples call. */
const PORT = 18141;
/** How long one block may take (the scoring token's hash, a dozen requests). */
const BLOCK_TIMEOUT_MS = 15_000;
/** What curl waits for one answer, at most. */
const CURL_TIMEOUT_SECONDS = 5;
/** Written between two commands' outputs (ASCII record separator). */
const SEPARATOR = '\u001e';

/** Blocks not run here, by their first line's start, and where they are run instead. */
const NOT_RUN: Record<string, string> = {
  'npm install && npm start': 'the two commands: CI runs npm ci and npm test on a fresh clone',
  'npm test ': 'the test commands: .ci/run runs lint, the type check and npm test',
  'npm run bench ': 'the benchmark: .ci/run runs the smoke line (checked below)',
  'echo "JWT_SECRET': 'needs a Docker engine: test/integration/container.test.ts checks the files',
};

const readme = readFileSync(join(REPOSITORY, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');

interface Command {
  /** The command as the README writes it, continuation lines included, without its comment. */
  readonly text: string;
  /** What it prints, as a pattern, when the README says. */
  readonly expected?: RegExp;
}

/**
 * Splits a block into commands the way the shell does: a newline ends one unless it is escaped
 * or inside quotes; a `#` after a blank, outside quotes, starts a comment. A comment holding
 * JSON (from its first `{` or `[`) is the output of the command it ends, or, on a line of its own, of
 * the command before it; comment lines indented by one more space continue it.
 */
function commandsOf(block: string): Command[] {
  const commands: { text: string; expected?: string }[] = [];
  let text = '';
  let quote: Quote = null;
  let said: string | undefined;
  for (const line of block.split('\n')) {
    const own = text === '' ? /^#(.*)$/.exec(line)?.[1] : undefined;
    if (own !== undefined) {
      const previous = commands.at(-1);
      if (previous?.expected !== undefined && own.startsWith('  ')) {
        previous.expected += own.trim();
      } else if (previous && /^\s*[[{]/.test(own)) {
        previous.expected = own.trim();
      }
      continue;
    }
    const scanned = scan(line, quote);
    quote = scanned.quote;
    said = scanned.comment ?? said;
    text += (text === '' ? '' : '\n') + scanned.code;
    if (quote !== null || scanned.code.endsWith('\\')) continue;
    const json = said?.search(/[[{]/) ?? -1;
    const expected = json >= 0 ? said?.slice(json) : said?.includes('empty body') ? '' : undefined;
    if (text.trim() !== '') commands.push(expected === undefined ? { text } : { text, expected });
    text = '';
    said = undefined;
  }
  return commands.map(({ text: command, expected }) =>
    expected === undefined ? { text: command } : { text: command, expected: patternOf(expected) },
  );
}

type Quote = "'" | '"' | null;

/** One line's code and comment, given the quote it starts inside, and the quote it ends in. */
function scan(line: string, start: Quote): { code: string; comment?: string; quote: Quote } {
  let quote = start;
  for (let at = 0; at < line.length; at++) {
    const char = line[at];
    if (quote === null && char === '#' && (at === 0 || /\s/.test(line[at - 1] ?? ''))) {
      return { code: line.slice(0, at).trimEnd(), comment: line.slice(at + 1).trim(), quote };
    }
    if (char === '\\' && quote !== "'") at++;
    else if (quote === null && (char === "'" || char === '"')) quote = char;
    else if (char === quote) quote = null;
  }
  return { code: line.trimEnd(), quote };
}

/** The README's answer as a pattern of the whole output: `…` is any text, the rest literal. */
function patternOf(expected: string): RegExp {
  const literal = expected.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${literal.join('[\\s\\S]*?')}$`);
}

const run = blocks.filter(
  (block) => !Object.keys(NOT_RUN).some((start) => block.startsWith(start)),
);

test('every block not run here is one of the README', () => {
  for (const start of Object.keys(NOT_RUN)) {
    expect(
      blocks.filter((block) => block.startsWith(start)),
      start,
    ).toHaveLength(1);
  }
  expect(run.length).toBeGreaterThan(0);
});

test("the README's benchmark smoke line is the one .ci/run runs", () => {
  const smoke = /^npm run bench -- [^#\n]*?(?=\s*#.*the smoke CI runs)/m.exec(readme)?.[0];
  expect(smoke).toBeDefined();
  expect(readFileSync(join(REPOSITORY, '.ci/run'), 'utf8')).toContain(`${smoke}\n`);
});

describe('the examples, against a started service', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coinworks-readme-'));
  let address = '';
  beforeAll(async () => {
    const service = startService(
      { HOST: '127.0.0.1', PORT: String(PORT), DATA_DIR: join(dir, 'data') },
      { scope: 'file', args: npmStartArguments(), cwd: dir },
    );
    address = await service.listening();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // In README order: the shop's session example signs in the user its first example made.
  test.each(run.map((block) => [block.split('\n')[0]?.slice(0, 60) ?? '', block]))(
    '%s',
    async (_first, block) => {
      const commands = commandsOf(block);
      const script = [
        'set -eu -o pipefail',
        `curl() { command curl --fail-with-body --max-time ${CURL_TIMEOUT_SECONDS} "$@"; }`,
        ...commands.flatMap(({ text }) => [
          text.replaceAll('localhost:8080', address.replace('http://', '')),
          `printf '${SEPARATOR}'`,
        ]),
      ].join('\n');
      const { stdout } = await promisify(execFile)('bash', ['-c', script], {
        cwd: dir,
        timeout: BLOCK_TIMEOUT_MS,
      });
      const outputs = stdout.split(SEPARATOR);
      expect(outputs.length).toBe(commands.length + 1);
      const checked = commands.flatMap(({ text, expected }, index) =>
        expected ? [{ text, output: outputs[index]?.trim() ?? '', expected }] : [],
      );
      expect(checked.length).toBeGreaterThan(0);
      for (const { text, output, expected } of checked) {
        expect(output, `the output of: ${text}`).toMatch(expected);
      }
    },
    BLOCK_TIMEOUT_MS + 5_000,
  );
});
