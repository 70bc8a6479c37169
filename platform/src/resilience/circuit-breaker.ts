import { AppError } from '../errors/index.js';

/**
 * A circuit breaker for synchronous calls: after `failureThreshold` failures in a row it opens and
 * fails calls at once (no waiting on a dependency known to be down); after `openMs` it lets one
 * trial call through (half-open) and closes again when that call succeeds.
 */
export interface CircuitBreakerOptions {
  readonly failureThreshold: number;
  readonly openMs: number;
  /** Which errors say the dependency is unhealthy (a validation error does not). */
  readonly isFailure?: (error: unknown) => boolean;
  readonly now?: () => number;
  readonly onStateChange?: (state: CircuitState, name: string) => void;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

export const circuitOpenCode = 'CIRCUIT_OPEN';

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private current: CircuitState = 'closed';
  private trialInFlight = false;

  constructor(
    readonly name: string,
    private readonly options: CircuitBreakerOptions,
  ) {}

  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.openMs)
      return 'half-open';
    return this.current;
  }

  async execute<T>(work: () => Promise<T>): Promise<T> {
    const state = this.state;
    if (state === 'open' || (state === 'half-open' && this.trialInFlight)) {
      throw new AppError(
        circuitOpenCode,
        `${this.name} is failing; calls are refused for up to ${this.options.openMs} ms`,
        {
          kind: 'unavailable',
        },
      );
    }
    const trial = state === 'half-open';
    if (trial) this.trialInFlight = true;
    try {
      const result = await work();
      this.onSuccess();
      return result;
    } catch (error) {
      if (this.options.isFailure?.(error) ?? true) this.onFailure(trial);
      else if (trial) this.onSuccess();
      throw error;
    } finally {
      if (trial) this.trialInFlight = false;
    }
  }

  private onSuccess(): void {
    this.failures = 0;
    this.setState('closed');
  }

  private onFailure(trial: boolean): void {
    this.failures++;
    if (trial || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.now();
      this.setState('open');
    }
  }

  private setState(state: CircuitState): void {
    if (this.current === state) return;
    this.current = state;
    this.options.onStateChange?.(state, this.name);
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}
