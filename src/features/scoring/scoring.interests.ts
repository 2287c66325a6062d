// Owns the interests document the import command reads and embedded mode keeps under DATA_DIR:
// {"<client_id>": ["interest", ...], ...}, checked whole before anything is written.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPlainObject } from '../../platform/http/json.ts';
import { codePointsWithin } from '../../platform/text.ts';
import { INTERESTS_KEY_PREFIX } from './scoring.service.ts';

/** Largest interests document accepted, in bytes. */
export const INTERESTS_DOCUMENT_BYTES_MAX = 256 * 1024 * 1024;
/** Most interests one client may have, and the longest interest, in characters. */
export const INTERESTS_PER_CLIENT_MAX = 1_000;
export const INTEREST_LENGTH_MAX = 256;

/** Where embedded mode keeps interests written by `npm run interests:import`, under DATA_DIR. */
export const EMBEDDED_INTERESTS_FILE = 'interests.json';

const CLIENT_ID = /^(0|[1-9]\d{0,15})$/;

export class InterestsDocumentError extends Error {
  override name = 'InterestsDocumentError';
}

/**
 * Store entries (`i:<id>` → JSON array) for a document; throws naming the first bad entry. A
 * repeated id keeps its last list, as JSON.parse (and most JSON parsers) read such objects.
 */
export function interestsEntries(text: string): [string, string][] {
  if (Buffer.byteLength(text, 'utf8') > INTERESTS_DOCUMENT_BYTES_MAX) {
    throw new InterestsDocumentError(`document exceeds ${INTERESTS_DOCUMENT_BYTES_MAX} bytes`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    throw new InterestsDocumentError(`not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(document)) {
    throw new InterestsDocumentError('expected an object {"<client_id>": ["interest", ...]}');
  }
  return Object.entries(document).map(([id, interests]) => {
    if (!CLIENT_ID.test(id) || !Number.isSafeInteger(Number(id))) {
      throw new InterestsDocumentError(
        `key ${JSON.stringify(id)} is not a non-negative integer id`,
      );
    }
    if (
      !Array.isArray(interests) ||
      interests.length > INTERESTS_PER_CLIENT_MAX ||
      !interests.every((i) => typeof i === 'string' && codePointsWithin(i, INTEREST_LENGTH_MAX))
    ) {
      throw new InterestsDocumentError(
        `client ${id}: expected an array of at most ${INTERESTS_PER_CLIENT_MAX} strings of at most ${INTEREST_LENGTH_MAX} characters`,
      );
    }
    return [INTERESTS_KEY_PREFIX + id, JSON.stringify(interests)];
  });
}

/** Interests served in embedded mode before anything is imported, so a newcomer sees answers. */
export const DEMO_INTERESTS: Readonly<Record<string, readonly string[]>> = {
  0: ['books', 'hi-tech'],
  1: ['pets', 'tv'],
  2: ['travel', 'music'],
  3: ['cars', 'sport'],
  4: ['cinema', 'geek'],
  5: ['otus', 'books'],
  6: ['hi-tech', 'travel'],
  7: ['sport', 'tv'],
  8: ['music', 'pets'],
  9: ['geek', 'cinema'],
};

/** Store entries for embedded mode: the demo set, overlaid with what was imported. */
export function embeddedInterests(dataDir: string): {
  demo: number;
  imported: number;
  entries: [string, string][];
} {
  const file = join(dataDir, EMBEDDED_INTERESTS_FILE);
  const imported = existsSync(file) ? interestsEntries(readFileSync(file, 'utf8')) : [];
  const demo = Object.entries(DEMO_INTERESTS).map(([id, interests]): [string, string] => [
    INTERESTS_KEY_PREFIX + id,
    JSON.stringify(interests),
  ]);
  return { demo: demo.length, imported: imported.length, entries: [...demo, ...imported] };
}
