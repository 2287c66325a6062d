import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { cases } from '../../../test/support/cases.ts';
import {
  DEMO_INTERESTS,
  EMBEDDED_INTERESTS_FILE,
  embeddedInterests,
  INTEREST_LENGTH_MAX,
  INTERESTS_PER_CLIENT_MAX,
  InterestsDocumentError,
  interestsEntries,
} from './scoring.interests.ts';

/** The InterestsDocumentError message for `text`; fails the test when the document is accepted. */
function refusal(text: string): string {
  try {
    interestsEntries(text);
  } catch (err) {
    if (err instanceof InterestsDocumentError) return err.message;
    throw err;
  }
  throw new Error(`accepted ${text.slice(0, 80)}`);
}

describe('interestsEntries', () => {
  test('turns each client into an i:<id> key holding its interests as a JSON array', () => {
    const entries = interestsEntries(
      '{"1": ["books", "hi-tech"], "2": [], "0": ["pets"], "9007199254740991": ["tv"]}',
    );
    expect(Object.fromEntries(entries)).toEqual({
      'i:0': '["pets"]',
      'i:1': '["books","hi-tech"]',
      'i:2': '[]',
      'i:9007199254740991': '["tv"]',
    });
    for (const [, value] of entries) expect(Array.isArray(JSON.parse(value))).toBe(true);
  });

  test('accepts an empty document', () => {
    expect(interestsEntries('{}')).toEqual([]);
  });

  test('keeps unicode interests intact', () => {
    expect(interestsEntries('{"7": ["книги", "😀"]}')).toEqual([['i:7', '["книги","😀"]']]);
  });

  test(`accepts ${INTERESTS_PER_CLIENT_MAX} interests of ${INTEREST_LENGTH_MAX} characters`, () => {
    const interests = Array.from({ length: INTERESTS_PER_CLIENT_MAX }, (_, i) =>
      String(i).padEnd(INTEREST_LENGTH_MAX, 'x'),
    );
    const entries = interestsEntries(JSON.stringify({ 3: interests }));
    expect(entries).toEqual([['i:3', JSON.stringify(interests)]]);
  });

  cases('refuses text that is not JSON', ['', '{', "{'1': []}", '{"1": [],}'], (text) => {
    expect(refusal(text)).toMatch(/^not valid JSON: /);
  });

  cases(
    'refuses JSON that is not an object',
    ['[]', '[{"1": []}]', 'null', '1', '"x"', 'true'],
    (text) => {
      expect(refusal(text)).toBe('expected an object {"<client_id>": ["interest", ...]}');
    },
  );

  cases(
    'refuses a key that is not a non-negative integer id',
    ['-1', '01', 'x', '1.5', '', ' 1', '1e3', '9007199254740992', '12345678901234567', '__proto__'],
    (id) => {
      expect(refusal(`{"1": ["a"], ${JSON.stringify(id)}: ["b"]}`)).toBe(
        `key ${JSON.stringify(id)} is not a non-negative integer id`,
      );
    },
  );

  cases(
    'refuses a client whose interests are not an array of strings',
    ['"books"', '{"0": "books"}', 'null', '[1]', '["a", null]', '[["a"]]'],
    (value) => {
      expect(refusal(`{"5": ${value}}`)).toMatch(/^client 5: expected an array of at most /);
    },
  );

  test(`refuses more than ${INTERESTS_PER_CLIENT_MAX} interests for one client`, () => {
    const interests = Array.from({ length: INTERESTS_PER_CLIENT_MAX + 1 }, () => 'a');
    expect(refusal(JSON.stringify({ 4: interests }))).toBe(
      `client 4: expected an array of at most ${INTERESTS_PER_CLIENT_MAX} strings of at most ${INTEREST_LENGTH_MAX} characters`,
    );
  });

  test('counts characters, not UTF-16 units: emoji interests of the full length are accepted', () => {
    const emoji = '😀'.repeat(INTEREST_LENGTH_MAX);
    expect(interestsEntries(JSON.stringify({ 4: [emoji] }))).toEqual([
      ['i:4', JSON.stringify([emoji])],
    ]);
    expect(() => interestsEntries(JSON.stringify({ 4: [`${emoji}😀`] }))).toThrow(/client 4/);
  });

  test(`refuses an interest longer than ${INTEREST_LENGTH_MAX} characters`, () => {
    const text = JSON.stringify({ 4: ['ok', 'x'.repeat(INTEREST_LENGTH_MAX + 1)] });
    expect(refusal(text)).toMatch(/^client 4: /);
  });

  test('refuses the whole document when one entry is bad', () => {
    expect(refusal('{"1": ["a"], "2": ["b"], "3": "c"}')).toMatch(/^client 3: /);
  });
});

describe('embeddedInterests', () => {
  let dataDir = '';
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'scoring-interests-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  const demoEntries = () =>
    Object.entries(DEMO_INTERESTS).map(([id, interests]) => [`i:${id}`, JSON.stringify(interests)]);

  test('serves only the demo set when nothing was imported', () => {
    const result = embeddedInterests(dataDir);
    expect(result.demo).toBe(Object.keys(DEMO_INTERESTS).length);
    expect(result.imported).toBe(0);
    expect(result.entries).toEqual(demoEntries());
  });

  test('puts imported interests after the demo set, so a store writing in order keeps them', () => {
    writeFileSync(join(dataDir, EMBEDDED_INTERESTS_FILE), '{"1": ["chess"], "100": ["golf"]}');
    const result = embeddedInterests(dataDir);
    expect(result.imported).toBe(2);
    expect(result.entries).toEqual([...demoEntries(), ['i:1', '["chess"]'], ['i:100', '["golf"]']]);
    const store = new Map(result.entries);
    expect(store.get('i:1')).toBe('["chess"]');
    expect(store.get('i:2')).toBe(JSON.stringify(DEMO_INTERESTS[2]));
  });

  test('refuses a broken interests file instead of serving part of it', () => {
    writeFileSync(join(dataDir, EMBEDDED_INTERESTS_FILE), '{"1": ["chess"], "x": []}');
    expect(() => embeddedInterests(dataDir)).toThrow(InterestsDocumentError);
  });

  test('serves the demo set from a directory that does not exist yet', () => {
    expect(embeddedInterests(join(dataDir, 'missing')).imported).toBe(0);
  });
});
