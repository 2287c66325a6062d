// Owns reading a request header as the client sent it: Node joins repeated unknown headers into
// one value ("a, b"), which would turn two Idempotency-Keys into a third that neither meant; and
// the header that says an answer replays an Idempotency-Key's first outcome.

/** On an answer that replays the first outcome of its Idempotency-Key (success or refusal). */
export const REPLAYED_HEADER = { 'idempotent-replayed': 'true' } as const;

/** The header's values as sent: undefined when absent, the value when sent once, else each. */
export function distinctHeader(
  request: { readonly rawHeaders: readonly string[] },
  name: string,
): string | string[] | undefined {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  const raw = request.rawHeaders;
  // rawHeaders alternates names (as sent, in any case) and values.
  for (let at = 0; at + 1 < raw.length; at += 2) {
    if ((raw[at] as string).toLowerCase() === wanted) values.push(raw[at + 1] as string);
  }
  if (values.length === 0) return undefined;
  return values.length === 1 ? values[0] : values;
}
