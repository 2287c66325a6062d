// Owns the shape of errors: features declare a catalogue once, services throw AppError, and each
// API style's single error handler renders them (see http/errors.ts).

export interface ErrorSpec {
  /** Stable identifier, e.g. STORE_UNAVAILABLE; never shown to clients as a status. */
  readonly code: string;
  readonly status: number;
  /** Default client-facing message. */
  readonly message: string;
}

type SpecInput = { readonly status: number; readonly message: string };

/** Declares a feature's errors; each entry gets its own key as `code`. */
export function defineErrors<const T extends Record<string, SpecInput>>(
  specs: T,
): { readonly [K in keyof T]: ErrorSpec & { readonly code: K } } {
  const out: Record<string, ErrorSpec> = {};
  for (const [code, spec] of Object.entries(specs)) {
    out[code] = Object.freeze({ code, status: spec.status, message: spec.message });
  }
  return Object.freeze(out) as never;
}

/** An expected failure with a client-facing message; anything else thrown is a bug (500). */
export class AppError extends Error {
  override name = 'AppError';
  readonly spec: ErrorSpec;
  readonly headers: Readonly<Record<string, string>>;

  constructor(spec: ErrorSpec, message?: string, headers: Record<string, string> = {}) {
    super(message ?? spec.message);
    this.spec = spec;
    this.headers = headers;
  }

  get status(): number {
    return this.spec.status;
  }
}
