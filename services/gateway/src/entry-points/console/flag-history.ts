import type { Flags } from '@orderly/platform';

export interface FlagChangeRecord {
  readonly at: string;
  readonly hash: string;
  readonly flagsChanged: readonly string[];
}

/**
 * The feature-flag changes this gateway saw (each applied change of the flags file), newest first,
 * for the console's audit trail; the first entry is the definitions in effect when it started. The
 * full trail is the "feature flags changed" log lines of every process (docs/flags.md).
 */
export class FlagHistory {
  private readonly records: FlagChangeRecord[] = [];

  constructor(
    flags: Flags,
    private readonly kept: number,
    now: () => Date = () => new Date(),
  ) {
    const { hash } = flags.status();
    if (hash) this.records.push({ at: now().toISOString(), hash, flagsChanged: [] });
    flags.onChange((change) => {
      this.records.unshift({
        at: now().toISOString(),
        hash: change.hash,
        flagsChanged: [...change.flagsChanged],
      });
      this.records.splice(this.kept);
    });
  }

  changes(): FlagChangeRecord[] {
    return [...this.records];
  }
}
