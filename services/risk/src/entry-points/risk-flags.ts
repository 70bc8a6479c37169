import type { Flags } from '@orderly/platform';
import type { Rollout } from '../plugins/risk-engine.js';
import { asFailPolicy, defaultFailPolicy, type FailPolicy } from '../domain/decision.js';

/** The flags risk reads: they can change live (flags/flags.json, docs/flags.md). */
export const riskFlagKeys = {
  failPolicy: 'risk-fail-policy',
  candidatePercent: 'risk-plugin-candidate-percent',
  candidateMode: 'risk-plugin-candidate-mode',
} as const;

export interface RiskFlags {
  /** Reads the three flags again (once per batch and per review sweep). */
  refresh(): Promise<void>;
  /** As last read: the engine asks synchronously for every batch. */
  failPolicy(): FailPolicy;
  rollout(): Rollout;
}

export function riskFlags(flags: Flags): RiskFlags {
  let policy: FailPolicy = defaultFailPolicy;
  let rollout: Rollout = { candidatePercent: 0, mode: 'shadow' };
  return {
    async refresh() {
      const [failPolicy, percent, mode] = await Promise.all([
        flags.string(riskFlagKeys.failPolicy, defaultFailPolicy),
        flags.number(riskFlagKeys.candidatePercent, 0),
        flags.string(riskFlagKeys.candidateMode, 'shadow'),
      ]);
      policy = asFailPolicy(failPolicy);
      rollout = {
        candidatePercent: Number.isFinite(percent) ? Math.min(100, Math.max(0, percent)) : 0,
        // Anything but an explicit `enforce` keeps a candidate in shadow: never enforced by mistake.
        mode: mode === 'enforce' ? 'enforce' : 'shadow',
      };
    },
    failPolicy: () => policy,
    rollout: () => rollout,
  };
}
