/**
 * A breaker per plugin version, counted per order: `failureThreshold` failed orders in a row open it;
 * while open, orders get `breaker-open` without reaching the plugin; after `openMs` one batch goes
 * through as a trial (half-open) and its first outcome closes or reopens it. The clock is injected so
 * tests move time instead of waiting. (platform's CircuitBreaker is internal to the platform and
 * counts calls, not orders; cockatiel is not a dependency of this repo.)
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

  /** Whether a batch may reach the plugin now; a half-open breaker lets one batch through. */
  admit(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  /** Records a batch's outcomes in order (true = scored). */
  record(scored: readonly boolean[]): void {
    const trial = this.trialInFlight;
    this.trialInFlight = false;
    for (const [index, ok] of scored.entries()) {
      if (ok) {
        this.failures = 0;
        if (this.open) {
          this.open = false;
          this.onChange('closed');
        }
      } else {
        this.failures++;
        if ((trial && index === 0) || (!this.open && this.failures >= this.failureThreshold)) {
          this.open = true;
          this.openedAt = this.now();
          this.onChange('open');
          return;
        }
      }
    }
  }
}
