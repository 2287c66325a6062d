// Owns the shape of errors: features declare a catalogue once, with what a client is told of
// each (status, message, when to retry, the request field it blames); services throw AppError,
// which knows no HTTP, and each API style's single error handler renders them (http/errors.ts).

/** The request field an error blames, for APIs that say where a problem was (FastAPI's loc). */
export interface BlamedField {
  readonly in: 'body' | 'query' | 'path' | 'header';
  readonly name: string;
  /** The kind of problem, as the API names it (e.g. value_error). */
  readonly type: string;
}

export interface ErrorSpec {
  /** Stable identifier, e.g. STORE_UNAVAILABLE; never shown to clients as a status. */
  readonly code: string;
  readonly status: number;
  /** Default client-facing message. */
  readonly message: string;
  /** Seconds after which a retry may succeed, for a failure that passes by itself. */
  readonly retryAfterSeconds?: number;
  readonly field?: BlamedField;
}

type SpecInput = Omit<ErrorSpec, 'code'>;

/** Declares a feature's errors; each entry gets its own key as `code`. */
export function defineErrors<const T extends Record<string, SpecInput>>(
  specs: T,
): { readonly [K in keyof T]: ErrorSpec & { readonly code: K } } {
  const out: Record<string, ErrorSpec> = {};
  for (const [code, spec] of Object.entries(specs)) {
    out[code] = Object.freeze({ code, ...spec });
  }
  return Object.freeze(out) as never;
}

/** What one failure adds to its spec. */
export interface ErrorDetails {
  /** Overrides the spec's: this failure passes after this many seconds (a window's end). */
  readonly retryAfterSeconds?: number;
  /** The failure is the replayed first outcome of an idempotency key; nothing ran again. */
  readonly replayed?: boolean;
  /** Headers, for the HTTP layer's own errors only (Allow); services say the above instead. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** An expected failure with a client-facing message; anything else thrown is a bug (500). */
export class AppError extends Error {
  override name = 'AppError';
  readonly spec: ErrorSpec;
  readonly details: ErrorDetails;

  constructor(spec: ErrorSpec, message?: string, details: ErrorDetails = {}) {
    super(message ?? spec.message);
    this.spec = spec;
    this.details = details;
  }

  /** Seconds after which a retry may succeed, if the failure passes by itself. */
  get retryAfterSeconds(): number | undefined {
    return this.details.retryAfterSeconds ?? this.spec.retryAfterSeconds;
  }

  get status(): number {
    return this.spec.status;
  }
}
