// The table-driven helper the assignment asks for: one test per vector, and the vector itself in
// the test's name, so a failure says which case broke.
import { test } from 'vitest';

/** Longest vector text shown in a test name; longer ones are cut with an ellipsis. */
const LABEL_LENGTH_MAX = 160;

export function describeVector(vector: unknown): string {
  const text =
    vector instanceof Object && !Array.isArray(vector) && vector.constructor !== Object
      ? `${vector.constructor.name}(${JSON.stringify(vector)})`
      : (JSON.stringify(vector) ?? String(vector));
  return text.length > LABEL_LENGTH_MAX ? `${text.slice(0, LABEL_LENGTH_MAX - 1)}…` : text;
}

/** Runs `body` once per vector as separate tests named `title — <vector>`. */
export function cases<const T>(
  title: string,
  vectors: readonly T[],
  body: (vector: T) => void | Promise<void>,
): void {
  const rows = vectors.map((vector) => ({ vector, label: describeVector(vector) }));
  test.for(rows)(`${title} — $label`, async ({ vector }) => {
    await body(vector);
  });
}
