// Owns the score itself and the cache key over every input that affects it.
import { createHash } from 'node:crypto';
import { formatDate } from './fields/calendar.ts';
import type { OnlineScoreArguments } from './scoring.requests.ts';

export const SCORE_KEY_PREFIX = 'uid:';

export function computeScore(args: OnlineScoreArguments): number {
  let score = 0;
  if (args.phone !== null) score += 1.5;
  if (args.email !== null) score += 1.5;
  if (args.birthday !== null && args.gender !== null && args.gender !== 0) score += 1.5;
  if (args.first_name !== null && args.last_name !== null) score += 0.5;
  return score;
}

/** A netstring: the UTF-8 byte length, a colon, the bytes, a comma; no two inputs share one. */
function netstring(text: string): string {
  return `${Buffer.byteLength(text)}:${text},`;
}

/**
 * `uid:` + SHA-256 hex of the netstrings of first name, last name, phone digits, birthday
 * (DD.MM.YYYY), email and gender, in that order; a missing or empty part is the empty string.
 */
export function scoreCacheKey(args: OnlineScoreArguments): string {
  const parts = [
    args.first_name ?? '',
    args.last_name ?? '',
    args.phone ?? '',
    args.birthday === null ? '' : formatDate(args.birthday),
    args.email ?? '',
    args.gender === null ? '' : String(args.gender),
  ];
  return (
    SCORE_KEY_PREFIX + createHash('sha256').update(parts.map(netstring).join('')).digest('hex')
  );
}

// Any finite number another implementation may have cached ("3", "3.0", "-1e2"), nothing else.
const CACHED_NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** The cached score, or null when the value is not a finite number. */
export function parseCachedScore(value: string): number | null {
  if (!CACHED_NUMBER.test(value)) return null;
  const score = Number(value);
  return Number.isFinite(score) ? score : null;
}
