// Owns text limits: lengths are counted in characters (code points), as users count them, not in
// UTF-16 units, which would count an emoji twice.

/** True when `text` has at most `max` code points. */
export function codePointsWithin(text: string, max: number): boolean {
  // The UTF-16 length is an upper bound on code points, and settles most strings at once.
  if (text.length <= max) return true;
  let count = 0;
  for (const _ of text) if (++count > max) return false;
  return true;
}

/**
 * The lone surrogates (what String.prototype.isWellFormed refuses), as a range of a character
 * class in a regular expression with the `u` flag, as JSON Schema's `pattern` is read: there a
 * surrogate pair is one character beyond them.
 */
export const LONE_SURROGATE_RANGE = '\\ud800-\\udfff';
