/**
 * A breaker per plugin version, counted per order: `failureThreshold` failed orders in a row open it
 * (counted as they happen, so a batch stops at the threshold instead of running every order into the
 * time limit); while open, orders get `breaker-open` without reaching the plugin; after `openMs` one
 * order goes through as a trial (half-open) and closes or reopens it. The clock is injected so tests
 * move time instead of waiting. (platform's CircuitBreaker is internal to the platform and counts
 * calls, not orders; cockatiel is not a dependency of this repo.)
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export class PluginBreaker {
  private failures = 0;
  private openedAt = 0;
  private open = false;
  private trialInFlight = false;

  constructor(
    private readonly failureThreshold: number,
    private readonly openMs: number,
    private readonly now: () => number,
    private readonly onChange: (state: BreakerState) => void = () => undefined,
  ) {}

  get state(): BreakerState {
    if (!this.open) return 'closed';
    return this.now() - this.openedAt >= this.openMs ? 'half-open' : 'open';
  }

  /** Whether orders may reach the plugin now: `trial` lets exactly one order try (half-open). */
  admit(): 'closed' | 'trial' | false {
    const state = this.state;
    if (state === 'closed') return 'closed';
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return 'trial';
  }

  /** An order scored: the count starts again; a trial that scored closes the breaker. */
  success(): void {
    this.trialInFlight = false;
    this.failures = 0;
    if (this.open) {
      this.open = false;
      this.onChange('closed');
    }
  }

  /** An order failed; returns whether the breaker is still closed (the batch may go on). */
  failure(): boolean {
    const trial = this.trialInFlight;
    this.trialInFlight = false;
    this.failures++;
    if (trial || (!this.open && this.failures >= this.failureThreshold)) {
      this.open = true;
      this.openedAt = this.now();
      this.onChange('open');
    }
    return !this.open;
  }
}
