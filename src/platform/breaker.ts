// Owns the circuit breaker for best-effort dependencies: after a failure, callers stop waiting
// on the dependency for a cooldown that doubles up to a ceiling, and one probe at a time tests
// whether it is back.

export type BreakerState = 'closed' | 'open' | 'half-open';

/** 'use': go ahead; 'probe': you are the single trial after a cooldown; 'reject': do not try. */
export type BreakerPermit = 'use' | 'probe' | 'reject';

export interface BreakerOptions {
  readonly cooldownMs: number;
  readonly cooldownMaxMs: number;
  readonly now?: () => number;
  readonly onStateChange?: (state: BreakerState) => void;
}

export class CircuitBreaker {
  readonly #options: BreakerOptions;
  readonly #now: () => number;
  #state: BreakerState = 'closed';
  #cooldownMs: number;
  #retryAt = 0;

  constructor(options: BreakerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#cooldownMs = options.cooldownMs;
  }

  get state(): BreakerState {
    return this.#state;
  }

  tryAcquire(): BreakerPermit {
    if (this.#state === 'closed') return 'use';
    if (this.#state === 'open' && this.#now() >= this.#retryAt) {
      this.#set('half-open');
      return 'probe';
    }
    return 'reject';
  }

  success(): void {
    this.#cooldownMs = this.#options.cooldownMs;
    this.#set('closed');
  }

  /** One failure opens the breaker: for a cache, serving without it is cheaper than waiting. */
  failure(): void {
    if (this.#state === 'half-open') {
      this.#cooldownMs = Math.min(this.#cooldownMs * 2, this.#options.cooldownMaxMs);
    }
    this.#retryAt = this.#now() + this.#cooldownMs;
    this.#set('open');
  }

  #set(state: BreakerState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#options.onStateChange?.(state);
  }
}
