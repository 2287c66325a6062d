// Owns request declarations: a request is a set of named fields, each declared once, plus rules
// over the whole; validation reports every invalid field, not only the first.
import { type Field, type FieldContext, isEmpty } from './fields.ts';

export type Fields = Readonly<Record<string, Field<unknown>>>;

/** A validated request: each field's value, or null when it was missing or empty. */
export type Values<F extends Fields> = {
  readonly [K in keyof F]: F[K] extends Field<infer T> ? T | null : never;
};

/** A rule over the whole request; returns the reason it fails, or null. */
export type RequestRule<F extends Fields> = (values: Values<F>) => string | null;

export interface RequestDeclaration<F extends Fields> {
  readonly fields: F;
  readonly rules: readonly RequestRule<F>[];
}

export type Validation<F extends Fields> =
  | {
      readonly ok: true;
      readonly values: Values<F>;
      /** Names of the fields with non-empty values, in declaration order. */
      readonly present: readonly (keyof F & string)[];
    }
  | { readonly ok: false; readonly errors: readonly string[] };

export function declareRequest<F extends Fields>(
  fields: F,
  rules: readonly RequestRule<F>[] = [],
): RequestDeclaration<F> {
  return Object.freeze({ fields, rules });
}

/** Validates `input` (a plain object) against a declaration; unknown keys are ignored. */
export function validateRequest<F extends Fields>(
  declaration: RequestDeclaration<F>,
  input: Readonly<Record<string, unknown>>,
  context: FieldContext,
): Validation<F> {
  const values: Record<string, unknown> = {};
  const present: string[] = [];
  const errors: string[] = [];
  for (const [name, field] of Object.entries(declaration.fields)) {
    values[name] = null;
    if (!Object.hasOwn(input, name)) {
      if (field.required) errors.push(`${name}: is required`);
      continue;
    }
    const raw = input[name];
    if (isEmpty(raw)) {
      if (!field.nullable) errors.push(`${name}: must not be empty`);
      continue;
    }
    const outcome = field.check(raw, context);
    if (outcome.ok) {
      values[name] = outcome.value;
      present.push(name);
    } else {
      errors.push(`${name}: ${outcome.reason}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const typed = values as Values<F>;
  for (const rule of declaration.rules) {
    const reason = rule(typed);
    if (reason !== null) errors.push(reason);
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, values: typed, present: present as (keyof F & string)[] };
}
