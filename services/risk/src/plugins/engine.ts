import { readdir, rm, watch } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeFeatures } from './abi.js';
import { PluginBreaker } from './plugin-breaker.js';
import {
  loadPlugin,
  readVersionFiles,
  sha256,
  toOutcome,
  type LoadedPlugin,
  type Refusal,
} from './plugin-loader.js';
import { pluginTelemetry, type PluginTelemetry } from './plugin-telemetry.js';
import { pluginsDirToUse } from './shipped-plugins.js';
import type {
  Assessment,
  PluginLimits,
  PluginOutcome,
  PluginRef,
  PluginVersionStatus,
  RiskEngine,
  RiskEngineOptions,
  RiskEngineStatus,
  RiskFeatures,
  Rollout,
} from './risk-engine.js';

/** Limits the configuration does not set (the call time limit always comes from it). */
export const defaultLimits: Omit<PluginLimits, 'callTimeoutMs'> = {
  maxMemoryPages: 256,
  maxModuleBytes: 1024 * 1024,
  workerHeapMb: 32,
};
export const defaultPluginName = 'basic-rules';

interface ServingVersion {
  readonly loaded: LoadedPlugin;
  readonly breaker: PluginBreaker;
  readonly loadedAt: string;
}

interface Attempt {
  readonly fingerprint: string;
  readonly refusal?: Refusal & { readonly at: string };
}

const versionPattern = /^(\d+)\.(\d+)\.(\d+)$/;

function compareVersions(a: string, b: string): number {
  const pa = versionPattern.exec(a)?.slice(1).map(Number) ?? [];
  const pb = versionPattern.exec(b)?.slice(1).map(Number) ?? [];
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A stable bucket 0..99 of an order id (FNV-1a), so an order always meets the same version. */
export function rolloutBucket(orderId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < orderId.length; i++) {
    hash ^= orderId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % 100;
}

function clampRollout(rollout: Rollout): Rollout {
  const percent = Number.isFinite(rollout.candidatePercent) ? rollout.candidatePercent : 0;
  return {
    candidatePercent: Math.min(100, Math.max(0, percent)),
    mode: rollout.mode === 'enforce' ? 'enforce' : 'shadow',
  };
}

class PluginEngine implements RiskEngine {
  private readonly limits: PluginLimits;
  private readonly pluginName: string;
  /** Extra calls for an order whose call failed transiently (see run). */
  private readonly retries: number;
  private readonly now: () => number;
  private readonly serving = new Map<string, ServingVersion>();
  private readonly attempts = new Map<string, Attempt>();
  /** Version folders seen by the last scan, newest first, with the role each got. */
  private present: { version: string; role: 'active' | 'candidate' | 'retired' | 'none' }[] = [];
  private activeVersion: string | undefined;
  private candidateVersion: string | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private readonly stopWatching = new AbortController();
  private poll: NodeJS.Timeout | undefined;
  /** A scan is asked for and has not started: more file events need no other. */
  private scanQueued = false;
  private closed = false;
  private readonly metrics: PluginTelemetry | undefined;

  constructor(
    private readonly options: RiskEngineOptions,
    /** A temporary folder the shipped plugins were written to, removed at close. */
    private readonly written?: string,
  ) {
    this.limits = { ...defaultLimits, ...options.limits };
    this.pluginName = options.pluginName ?? defaultPluginName;
    this.retries = Math.max(0, Math.floor(options.retries ?? 0));
    this.now = options.now ?? Date.now;
    this.metrics = options.telemetry ? pluginTelemetry(options.telemetry) : undefined;
  }

  start(): void {
    void this.watchFolder();
    const every = this.options.pollIntervalMs ?? 2_000;
    if (every > 0) {
      this.poll = setInterval(() => this.soon(), every);
      this.poll.unref();
    }
  }

  /** File events ask for a scan; the poll is the safety net where events do not arrive. */
  private async watchFolder(): Promise<void> {
    const signal = this.stopWatching.signal;
    try {
      const events = watch(this.options.pluginsDir, { recursive: true, signal });
      for await (const event of events) if (event.eventType) this.soon();
    } catch (error) {
      if (signal.aborted) return;
      this.options.log.warn(
        { dir: this.options.pluginsDir, err: error },
        'risk plugin folder cannot be watched; polling only',
      );
    }
  }

  /** Coalesces bursts of file events (a copy writes several) into the next scan. */
  private soon(): void {
    if (this.closed || this.scanQueued) return;
    this.scanQueued = true;
    void this.rescan();
  }

  rescan(): Promise<void> {
    const scan = this.scanning.then(() => this.scan());
    this.scanning = scan.catch((error: unknown) => {
      this.options.log.error(
        { dir: this.options.pluginsDir, err: error },
        'risk plugin scan failed',
      );
    });
    return this.scanning;
  }

  private async scan(): Promise<void> {
    this.scanQueued = false;
    if (this.closed) return;
    const root = join(this.options.pluginsDir, this.pluginName);
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name);
    // A version folder that is gone takes its refusal with it.
    for (const version of this.attempts.keys()) {
      if (!folders.includes(version)) this.attempts.delete(version);
    }
    for (const folder of folders.filter((f) => !versionPattern.test(f))) {
      this.refuseOnce(folder, join(root, folder), 'version folder is not MAJOR.MINOR.PATCH');
    }
    const versions = folders
      .filter((f) => versionPattern.test(f))
      .sort(compareVersions)
      .reverse();
    // Newest first, load until two serve (candidate and active); older ones are not loaded.
    const chosen: string[] = [];
    for (const version of versions) {
      if (chosen.length === 2) break;
      await this.ensureLoaded(version, join(root, version));
      if (this.serving.has(version)) chosen.push(version);
    }
    for (const [version, serving] of this.serving) {
      if (chosen.includes(version)) continue;
      this.serving.delete(version);
      this.attempts.delete(version);
      await serving.loaded.sandbox.retire();
    }
    const [newest, second] = chosen;
    const active = second ?? newest;
    const candidate = second === undefined ? undefined : newest;
    if (active !== this.activeVersion || candidate !== this.candidateVersion) {
      this.options.log.info(
        {
          status: 'serving',
          plugin: active ? `${this.pluginName}@${active}` : 'none',
          what: candidate ? `candidate ${this.pluginName}@${candidate}` : 'no candidate',
        },
        'risk plugin versions changed',
      );
    }
    this.activeVersion = active;
    this.candidateVersion = candidate;
    this.present = versions.map((version) => ({
      version,
      role:
        version === active
          ? 'active'
          : version === candidate
            ? 'candidate'
            : this.serving.has(version) || compareVersions(version, active ?? '0.0.0') < 0
              ? 'retired'
              : 'none',
    }));
  }

  private refuseOnce(version: string, dir: string, error: string): void {
    if (this.attempts.get(version)?.fingerprint === `refused:${error}`) return;
    const plugin = { name: this.pluginName, version, sha256: '' };
    this.attempts.set(version, {
      fingerprint: `refused:${error}`,
      refusal: { plugin, file: dir, error, at: new Date(this.now()).toISOString() },
    });
    this.options.log.error(
      { plugin: `${this.pluginName}@${version}`, file: dir, why: error },
      'risk plugin refused; the previous version keeps serving',
    );
    this.metrics?.refused(plugin);
  }

  private async ensureLoaded(version: string, dir: string): Promise<void> {
    const { wasm, golden } = await readVersionFiles(dir);
    if (!wasm || golden === undefined) {
      const missing = !wasm ? 'plugin.wasm' : 'golden.json';
      this.refuseOnce(version, dir, `${missing} is missing`);
      return;
    }
    const fingerprint = `${sha256(wasm)}:${sha256(golden)}`;
    if (this.attempts.get(version)?.fingerprint === fingerprint) return;
    this.attempts.set(version, { fingerprint });
    const result = await loadPlugin({
      name: this.pluginName,
      version,
      dir,
      wasm,
      golden,
      limits: this.limits,
      settings: this.options.settings,
    });
    if (this.closed) {
      if ('sandbox' in result) await result.sandbox.close();
      return;
    }
    if (!('sandbox' in result)) {
      this.attempts.set(version, {
        fingerprint,
        refusal: { ...result, at: new Date(this.now()).toISOString() },
      });
      this.options.log.error(
        {
          plugin: `${result.plugin.name}@${result.plugin.version}`,
          sha256: result.plugin.sha256,
          file: result.file,
          why: result.error,
        },
        'risk plugin refused; the previous version keeps serving',
      );
      this.metrics?.refused(result.plugin);
      return;
    }
    const previous = this.serving.get(version);
    const plugin = result.plugin;
    this.serving.set(version, {
      loaded: result,
      loadedAt: new Date(this.now()).toISOString(),
      breaker: new PluginBreaker(
        this.options.breaker?.failureThreshold ?? 5,
        this.options.breaker?.openMs ?? 10_000,
        this.now,
        (state) => {
          this.options.log.warn(
            { plugin: `${plugin.name}@${plugin.version}`, status: state },
            'risk plugin breaker changed state',
          );
          this.metrics?.breaker(plugin, state);
        },
      ),
    });
    this.options.log.info(
      { plugin: `${plugin.name}@${plugin.version}`, sha256: plugin.sha256, file: result.file },
      'risk plugin validated and loaded',
    );
    await previous?.loaded.sandbox.retire();
  }

  async assess(batch: readonly RiskFeatures[], signal?: AbortSignal): Promise<Assessment[]> {
    if (batch.length === 0) return [];
    const work = () => this.assessNow(batch, signal);
    return this.options.telemetry
      ? this.options.telemetry.inSpan(
          'risk.plugins.assess',
          { 'risk.batch.size': batch.length },
          work,
        )
      : work();
  }

  private async assessNow(
    batch: readonly RiskFeatures[],
    signal?: AbortSignal,
  ): Promise<Assessment[]> {
    const active = this.activeVersion ? this.serving.get(this.activeVersion) : undefined;
    if (!active || signal?.aborted) {
      const failure = signal?.aborted ? 'timeout' : 'no-plugin';
      const detail = signal?.aborted
        ? 'the caller gave up before scoring'
        : `no valid ${this.pluginName} version in ${this.options.pluginsDir}`;
      return batch.map(() => ({ enforced: { kind: 'failed', failure, detail, durationMs: 0 } }));
    }
    const candidate = this.candidateVersion ? this.serving.get(this.candidateVersion) : undefined;
    const rollout = clampRollout(this.options.rollout());
    const encoded = batch.map(encodeFeatures);
    const routed = batch.map(
      (features) =>
        candidate !== undefined && rolloutBucket(features.orderId) < rollout.candidatePercent,
    );
    const indices = batch.map((_, i) => i);
    const toCandidate = indices.filter((i) => routed[i]);
    const toActive =
      rollout.mode === 'shadow' ? indices : indices.filter((i) => routed[i] !== true);
    const candidateRole = rollout.mode === 'shadow' ? 'shadow' : 'enforced';
    const [fromActive, fromCandidate] = await Promise.all([
      this.score(active, toActive, encoded, 'enforced'),
      candidate
        ? this.score(candidate, toCandidate, encoded, candidateRole)
        : Promise.resolve(new Map<number, PluginOutcome>()),
    ]);
    return indices.map((i): Assessment => {
      const byActive = fromActive.get(i);
      const byCandidate = fromCandidate.get(i);
      if (rollout.mode === 'enforce' && byCandidate) return { enforced: byCandidate };
      const enforced = byActive ?? {
        kind: 'failed',
        failure: 'no-plugin',
        detail: 'not scored',
        durationMs: 0,
      };
      return byCandidate ? { enforced, shadow: byCandidate } : { enforced };
    });
  }

  private async score(
    version: ServingVersion,
    indices: readonly number[],
    encoded: readonly Uint8Array[],
    role: 'enforced' | 'shadow',
  ): Promise<Map<number, PluginOutcome>> {
    const outcomes = new Map<number, PluginOutcome>();
    if (indices.length === 0) return outcomes;
    const { plugin } = version.loaded;
    const breaker = version.breaker;
    const admitted = breaker.admit();
    const refused = (count: number): PluginOutcome[] =>
      Array.from({ length: count }, () => ({
        kind: 'failed',
        plugin,
        failure: 'breaker-open',
        detail: `${plugin.name}@${plugin.version} failed repeatedly; its breaker is open`,
        durationMs: 0,
      }));
    let list: PluginOutcome[];
    if (!admitted) {
      list = refused(indices.length);
    } else if (admitted === 'trial') {
      // Half-open: one order tries the plugin; the others follow only if it scores.
      const [first = 0, ...rest] = indices;
      const [trial] = await this.run(version, [first], encoded);
      if (trial?.kind === 'scored') {
        breaker.success();
        list = [trial, ...(await this.run(version, rest, encoded))];
      } else {
        // run() counted the failure, which reopened the breaker.
        list = [...(trial ? [trial] : []), ...refused(rest.length)];
      }
    } else {
      list = await this.run(version, indices, encoded);
    }
    this.logFailures(plugin, list);
    indices.forEach((index, i) => {
      const outcome = list[i];
      if (outcome) outcomes.set(index, outcome);
    });
    this.metrics?.outcomes(plugin, role, list);
    return outcomes;
  }

  /**
   * Scores orders, calling an order whose call failed transiently again, after the rest of the batch
   * and on the worker that replaced the failed one, up to `retries` times. Only a timeout and a
   * crashed worker are retried: they can be the machine (a stalled thread on a loaded host), while a
   * trap, a full memory or an invalid answer is the plugin's deterministic reply to the same input
   * and would only come again, at the cost of another worker. Each attempt counts in the breaker
   * (run once), so a plugin that loops on every call opens it after `failureThreshold` calls, not
   * after that many orders times (retries + 1) limits; a retry that scores resets it as any score does.
   */
  private async run(
    version: ServingVersion,
    indices: readonly number[],
    encoded: readonly Uint8Array[],
  ): Promise<PluginOutcome[]> {
    const calls = await this.runOnce(version, indices, encoded);
    const attempts = calls.map(() => 1);
    for (let retry = 1; retry <= this.retries; retry++) {
      const again = calls.flatMap((call, position) => (call.transient ? [position] : []));
      // An open breaker refuses calls: such an order keeps its failure (every attempt counted).
      if (again.length === 0 || version.breaker.state !== 'closed') break;
      const first = calls[again[0] ?? 0]?.outcome;
      const { plugin } = version.loaded;
      this.options.log.warn(
        {
          plugin: `${plugin.name}@${plugin.version}`,
          count: again.length,
          kind: first?.kind === 'failed' ? first.failure : undefined,
          retry,
        },
        'risk plugin call failed transiently; calling again on a fresh worker',
      );
      const retried = await this.runOnce(
        version,
        again.map((position) => indices[position] ?? 0),
        encoded,
      );
      again.forEach((position, k) => {
        const call = retried[k];
        if (!call) return;
        calls[position] = call;
        attempts[position] = retry + 1;
      });
    }
    return calls.map(({ outcome }, position) => ({
      ...outcome,
      attempts: attempts[position] ?? 1,
    }));
  }

  /**
   * One pass of orders through the version's sandbox, counting faults in its breaker as they happen:
   * once it opens, the rest of the batch is not run (breaker-open) rather than each running into the
   * limit. `transient` marks the failures a retry may cure (see run).
   */
  private async runOnce(
    version: ServingVersion,
    indices: readonly number[],
    encoded: readonly Uint8Array[],
  ): Promise<{ outcome: PluginOutcome; transient: boolean }[]> {
    if (indices.length === 0) return [];
    const { plugin, sandbox, reasons } = version.loaded;
    const breaker = version.breaker;
    const raw = await sandbox.run(
      indices.map((i) => encoded[i] ?? new Uint8Array()),
      {
        onFault: (_, scoredBefore) => {
          if (scoredBefore > 0) breaker.success();
          return breaker.failure();
        },
      },
    );
    const outcomes = raw.map((r) => toOutcome(r, plugin, reasons));
    // Garbage answers are failures the sandbox did not see; a scored last order ends a run of them.
    for (const outcome of outcomes) {
      if (outcome.kind === 'failed' && outcome.failure === 'invalid-output') breaker.failure();
    }
    if (outcomes.at(-1)?.kind === 'scored' && breaker.state === 'closed') breaker.success();
    return outcomes.map((outcome, i) => {
      const result = raw[i];
      const transient =
        result?.kind === 'fault' && (result.fault === 'timeout' || result.fault === 'crashed');
      return { outcome, transient };
    });
  }

  private logFailures(plugin: PluginRef, outcomes: readonly PluginOutcome[]): void {
    const failed = outcomes.filter((o) => o.kind === 'failed');
    const first = failed[0];
    if (!first) return;
    this.options.log.warn(
      {
        plugin: `${plugin.name}@${plugin.version}`,
        sha256: plugin.sha256,
        count: failed.length,
        kind: first.failure,
        detail: first.detail,
      },
      'risk plugin failed to score orders',
    );
  }

  status(): RiskEngineStatus {
    const versions: PluginVersionStatus[] = [];
    for (const { version, role } of this.present) {
      const serving = this.serving.get(version);
      if (serving && (role === 'active' || role === 'candidate')) {
        versions.push({
          plugin: serving.loaded.plugin,
          file: serving.loaded.file,
          state: role,
          loadedAt: serving.loadedAt,
          workerStarts: serving.loaded.sandbox.workersStarted,
        });
      } else if (role === 'retired') {
        versions.push({
          plugin: { name: this.pluginName, version, sha256: '' },
          file: join(this.options.pluginsDir, this.pluginName, version),
          state: 'retired',
          loadedAt: '',
        });
      }
    }
    for (const attempt of this.attempts.values()) {
      const refusal = attempt.refusal;
      if (!refusal) continue;
      versions.push({
        plugin: refusal.plugin,
        file: refusal.file,
        state: 'refused',
        error: refusal.error,
        loadedAt: refusal.at,
      });
    }
    const active = this.activeVersion ? this.serving.get(this.activeVersion) : undefined;
    const candidate = this.candidateVersion ? this.serving.get(this.candidateVersion) : undefined;
    return {
      pluginsDir: this.options.pluginsDir,
      ...(active ? { active: active.loaded.plugin } : {}),
      ...(candidate ? { candidate: candidate.loaded.plugin } : {}),
      breaker: active?.breaker.state ?? 'closed',
      ...(candidate ? { candidateBreaker: candidate.breaker.state } : {}),
      rollout: clampRollout(this.options.rollout()),
      versions,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopWatching.abort();
    clearInterval(this.poll);
    await this.scanning;
    const closing = [...this.serving.values()].map((s) => s.loaded.sandbox.close());
    this.serving.clear();
    await Promise.all(closing);
    if (this.written) await rm(this.written, { recursive: true, force: true });
  }
}

export async function createPluginEngine(options: RiskEngineOptions): Promise<RiskEngine> {
  const folder = pluginsDirToUse(options.pluginsDir, options.log);
  const engine = new PluginEngine({ ...options, pluginsDir: folder.dir }, folder.written);
  await engine.rescan();
  engine.start();
  return engine;
}
