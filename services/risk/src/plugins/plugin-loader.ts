import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  abiVersion,
  decodeResult,
  encodeFeatures,
  encodeSettings,
  parseReasonList,
} from './abi.js';
import { firstGoldenMismatch, parseGoldenCases } from './golden-cases.js';
import { checkModule } from './module-check.js';
import { PluginSandbox, type RawOutcome } from './plugin-sandbox.js';
import type { PluginLimits, PluginOutcome, PluginRef, PluginSettings } from './risk-engine.js';

/** A version that passed every check and serves from its own sandbox. */
export interface LoadedPlugin {
  readonly plugin: PluginRef;
  readonly file: string;
  readonly reasons: readonly string[];
  readonly sandbox: PluginSandbox;
}

export interface LoadRequest {
  readonly name: string;
  readonly version: string;
  /** The version's folder: plugin.wasm and golden.json. */
  readonly dir: string;
  readonly wasm: Uint8Array;
  readonly golden: string;
  readonly limits: PluginLimits;
  readonly settings: PluginSettings;
}

export interface Refusal {
  readonly plugin: PluginRef;
  readonly file: string;
  readonly error: string;
}

export const wasmFileName = 'plugin.wasm';
export const goldenFileName = 'golden.json';

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads a version folder's two files; undefined for a file that is not there (yet). */
export async function readVersionFiles(
  dir: string,
): Promise<{ wasm?: Uint8Array; golden?: string }> {
  const [wasm, golden] = await Promise.all([
    readFile(join(dir, wasmFileName)).catch(() => undefined),
    readFile(join(dir, goldenFileName), 'utf8').catch(() => undefined),
  ]);
  return { wasm, golden };
}

/** The host's reading of one raw result: a scored outcome, or why it failed. */
export function toOutcome(
  raw: RawOutcome,
  plugin: PluginRef,
  reasons: readonly string[],
): PluginOutcome {
  if (raw.kind === 'fault') {
    return {
      kind: 'failed',
      plugin,
      failure:
        raw.fault === 'closed'
          ? 'no-plugin'
          : raw.fault === 'stopped'
            ? 'breaker-open'
            : raw.fault === 'crashed'
              ? 'trap'
              : raw.fault,
      detail: raw.detail,
      durationMs: raw.durationMs,
    };
  }
  const decoded = decodeResult(raw.raw, reasons);
  if (!decoded.ok) {
    return {
      kind: 'failed',
      plugin,
      failure: 'invalid-output',
      detail: decoded.detail,
      durationMs: raw.durationMs,
    };
  }
  return {
    kind: 'scored',
    plugin,
    score: decoded.score,
    reasons: decoded.reasons,
    durationMs: raw.durationMs,
  };
}

async function startSandbox(
  request: LoadRequest,
  module: WebAssembly.Module,
  maxMemoryPages: number,
  settings: PluginSettings,
): Promise<{ sandbox: PluginSandbox; reasons: readonly string[] } | string> {
  const started = await PluginSandbox.start({
    module,
    maxMemoryPages,
    settings: encodeSettings(settings),
    callTimeoutMs: request.limits.callTimeoutMs,
    startTimeoutMs: Math.max(5_000, request.limits.callTimeoutMs * 4),
    workerHeapMb: request.limits.workerHeapMb,
  });
  if (typeof started === 'string') return started;
  const { sandbox, greeting } = started;
  const refuse = async (why: string) => {
    await sandbox.close();
    return why;
  };
  if (greeting.abiVersion !== abiVersion) {
    return refuse(`speaks ABI version ${greeting.abiVersion}; the host speaks ${abiVersion}`);
  }
  const reasons = parseReasonList(greeting.reasons);
  if (typeof reasons === 'string') return refuse(reasons);
  if (greeting.configured !== 0) {
    return refuse(`orderly_configure returned ${greeting.configured} (0 means configured)`);
  }
  return { sandbox, reasons };
}

/**
 * Validates a version before it may serve: the module's static checks, the ABI handshake in a
 * sandbox, and its golden cases (scored with the settings golden.json names). Returns the version
 * serving from a fresh sandbox configured with the deployment's settings, or the refusal.
 */
export async function loadPlugin(request: LoadRequest): Promise<LoadedPlugin | Refusal> {
  const file = join(request.dir, wasmFileName);
  const plugin: PluginRef = {
    name: request.name,
    version: request.version,
    sha256: sha256(request.wasm),
  };
  const refused = (error: string): Refusal => ({ plugin, file, error });
  const checked = checkModule(request.wasm, request.limits);
  if (typeof checked === 'string') return refused(checked);
  const golden = parseGoldenCases(request.golden);
  if (typeof golden === 'string') return refused(golden);

  const trial = await startSandbox(
    request,
    checked.module,
    checked.maxMemoryPages,
    golden.settings,
  );
  if (typeof trial === 'string') return refused(trial);
  const raw = await trial.sandbox.run(golden.cases.map((c) => encodeFeatures(c.features)));
  await trial.sandbox.close();
  const mismatch = firstGoldenMismatch(
    golden.cases,
    raw.map((r) => toOutcome(r, plugin, trial.reasons)),
  );
  if (mismatch) return refused(mismatch);

  const serving = await startSandbox(
    request,
    checked.module,
    checked.maxMemoryPages,
    request.settings,
  );
  if (typeof serving === 'string') return refused(serving);
  return { plugin, file, reasons: serving.reasons, sandbox: serving.sandbox };
}
