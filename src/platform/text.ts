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
