import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FlagdProvider } from '@openfeature/flagd-provider';
import {
  NOOP_PROVIDER,
  OpenFeature,
  ProviderEvents,
  type Client,
  type EvaluationContext,
  type EventHandler,
  type Logger as OpenFeatureLogger,
} from '@openfeature/server-sdk';
import { contentHash } from '../config/reloadable.js';
import type { Logger } from '../log/index.js';

/**
 * Feature flags: runtime decisions read from a flagd definitions file (`flags.file`, a ConfigMap in
 * Kubernetes), evaluated through the OpenFeature server SDK with flagd's in-process provider (file
 * source: the provider re-reads the file when its stat changes, polled about every 5 s, which also
 * follows a ConfigMap's symlink swap). Services see only the small `Flags` interface:
 *
 *   const v2 = await flags.boolean('payment-provider-v2', false, { targetingKey: customerId });
 *
 * Every evaluation names a safe default, used when the flag is missing, disabled, of the wrong type,
 * or the file cannot be read. The evaluation context always carries `service` and the attributes of
 * `flags.context` (e.g. `region`); the caller adds `targetingKey` (the customer id) and anything else.
 */
export type FlagContextValue = string | number | boolean;

export interface FlagContext {
  /** Who the decision is about (the customer id); fractional rollouts bucket on it. */
  readonly targetingKey?: string;
  readonly [attribute: string]: FlagContextValue | undefined;
}

export interface FlagsStatus {
  readonly file: string;
  /** Hash of the flag definitions in effect (sha256 of the file, first 16 hex digits). */
  readonly hash: string;
  /** Set while the file could not be (re)loaded; the last good definitions stay in effect. */
  readonly error: string | undefined;
}

export interface FlagChange {
  readonly hash: string;
  readonly flagsChanged: readonly string[];
}

export interface Flags {
  boolean(key: string, defaultValue: boolean, context?: FlagContext): Promise<boolean>;
  number(key: string, defaultValue: number, context?: FlagContext): Promise<number>;
  string(key: string, defaultValue: string, context?: FlagContext): Promise<string>;
  /** The same flags with `attributes` added to every evaluation context (e.g. `{ service: 'order' }`). */
  withContext(attributes: FlagContext): Flags;
  status(): FlagsStatus;
  /** Called once per applied change of the definitions. */
  onChange(listener: (change: FlagChange) => void): () => void;
}

export interface FlagsHandle extends Flags {
  /** Releases this handle; the provider stops when the last handle on the file is closed. */
  close(): Promise<void>;
}

export interface OpenFlagsOptions {
  readonly file: string;
  /** Attributes of every evaluation (`flags.context`, read again at each evaluation so it may be reloaded). */
  readonly context?: () => Readonly<Record<string, string>>;
  /** How long to wait before trying an unreadable file again (`flags.retryIntervalMs`). */
  readonly retryIntervalMs: () => number;
  readonly log?: Logger;
}

/** One provider per flags file per process, shared by every service that opens it (embedded mode). */
class FlagdFileSource {
  private static domains = 0;
  /**
   * Domains of closed sources, used again: the SDK keeps what it knows of a domain (its client's
   * events and handlers, and through them the last provider) for the life of the process, so a new
   * domain per source would grow without bound in a process that opens and closes flags (tests).
   */
  private static readonly freeDomains: string[] = [];
  readonly domain =
    FlagdFileSource.freeDomains.pop() ?? `orderly-flags-${++FlagdFileSource.domains}`;
  private provider: FlagdProvider | undefined;
  private client: Client;
  private hash = '';
  private error: string | undefined;
  private readonly listeners = new Set<(change: FlagChange) => void>();
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  refs = 0;
  // Removed again at close: the SDK keeps every domain's client events for the life of the process,
  // and this handler would keep the source, and through its listeners whole services, alive.
  private readonly onConfigurationChanged: EventHandler<ProviderEvents.ConfigurationChanged> = (
    details,
  ) => {
    this.error = undefined;
    this.hash = this.readHash();
    const change: FlagChange = { hash: this.hash, flagsChanged: details?.flagsChanged ?? [] };
    this.log?.info(
      { flagsHash: change.hash, flagsChanged: change.flagsChanged, file: this.file },
      'feature flags changed',
    );
    for (const listener of this.listeners) listener(change);
  };

  constructor(
    readonly file: string,
    private log: Logger | undefined,
    private retryIntervalMs: () => number,
  ) {
    this.client = OpenFeature.getClient(this.domain);
    this.client.addHandler(ProviderEvents.ConfigurationChanged, this.onConfigurationChanged);
  }

  async start(): Promise<void> {
    const provider = new FlagdProvider(
      { resolverType: 'in-process', offlineFlagSourcePath: this.file },
      this.providerLogger(),
    );
    try {
      await OpenFeature.setProviderAndWait(this.domain, provider);
      this.provider = provider;
      this.error = undefined;
      this.hash = this.readHash();
      this.log?.info({ flagsHash: this.hash, file: this.file }, 'feature flags loaded');
      // After a failed first load, whoever cached defaults must evaluate again.
      for (const listener of this.listeners) listener({ hash: this.hash, flagsChanged: [] });
    } catch (error) {
      // Evaluations answer their safe defaults meanwhile; the file is tried again until it loads.
      await provider.onClose().catch(() => undefined);
      this.error = `cannot load ${this.file}: ${error instanceof Error ? error.message : String(error)}`;
      this.log?.error({ file: this.file, err: error }, 'feature flags not loaded, defaults apply');
      if (!this.closed) {
        this.retryTimer = setTimeout(() => void this.start(), this.retryIntervalMs());
        this.retryTimer.unref();
      }
    }
  }

  private providerLogger(): OpenFeatureLogger {
    const text = (args: unknown[]) =>
      args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
    return {
      // The file source reports an unreadable or invalid new file here, and keeps the previous flags.
      error: (...args: unknown[]) => {
        this.error = `reload of ${this.file} failed: ${text(args)}`;
        this.log?.error(
          { file: this.file, detail: text(args) },
          'feature flags reload failed, previous flags kept',
        );
      },
      warn: (...args: unknown[]) =>
        this.log?.warn({ file: this.file, detail: text(args) }, 'feature flags provider warning'),
      info: () => undefined,
      debug: () => undefined,
    };
  }

  private readHash(): string {
    try {
      return contentHash(readFileSync(this.file));
    } catch {
      return '';
    }
  }

  evaluate(
    kind: 'boolean',
    key: string,
    defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<boolean>;
  evaluate(
    kind: 'number',
    key: string,
    defaultValue: number,
    context: EvaluationContext,
  ): Promise<number>;
  evaluate(
    kind: 'string',
    key: string,
    defaultValue: string,
    context: EvaluationContext,
  ): Promise<string>;
  evaluate(
    kind: 'boolean' | 'number' | 'string',
    key: string,
    defaultValue: unknown,
    context: EvaluationContext,
  ): Promise<unknown> {
    // The SDK never throws from these: a failed evaluation answers the default.
    if (kind === 'boolean')
      return this.client.getBooleanValue(key, defaultValue as boolean, context);
    if (kind === 'number') return this.client.getNumberValue(key, defaultValue as number, context);
    return this.client.getStringValue(key, defaultValue as string, context);
  }

  status(): FlagsStatus {
    return { file: this.file, hash: this.hash, error: this.error };
  }

  subscribe(listener: (change: FlagChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  adoptLogger(log: Logger | undefined): void {
    this.log ??= log;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.listeners.clear();
    this.client.removeHandler(ProviderEvents.ConfigurationChanged, this.onConfigurationChanged);
    // Replacing the domain's provider makes the SDK close the flagd provider (its file watch included).
    await OpenFeature.setProviderAndWait(this.domain, NOOP_PROVIDER);
    await this.provider?.onClose().catch(() => undefined);
    // What the SDK still holds of this domain reaches this source (the provider's logger): let go of
    // the service's logger and configuration, then give the domain back.
    this.provider = undefined;
    this.log = undefined;
    this.retryIntervalMs = () => 0;
    FlagdFileSource.freeDomains.push(this.domain);
  }
}

const sources = new Map<string, { source: FlagdFileSource; ready: Promise<void> }>();

class ContextFlags implements Flags {
  constructor(
    protected readonly source: FlagdFileSource,
    private readonly base: FlagContext,
    private readonly staticContext: () => Readonly<Record<string, string>>,
  ) {}

  private contextOf(context: FlagContext | undefined): EvaluationContext {
    const merged: EvaluationContext = {};
    for (const layer of [this.staticContext(), this.base, context ?? {}]) {
      for (const [key, value] of Object.entries(layer))
        if (value !== undefined) merged[key] = value;
    }
    return merged;
  }

  boolean(key: string, defaultValue: boolean, context?: FlagContext): Promise<boolean> {
    return this.source.evaluate('boolean', key, defaultValue, this.contextOf(context));
  }

  async number(key: string, defaultValue: number, context?: FlagContext): Promise<number> {
    const value = await this.source.evaluate('number', key, defaultValue, this.contextOf(context));
    return Number.isFinite(value) ? value : defaultValue;
  }

  string(key: string, defaultValue: string, context?: FlagContext): Promise<string> {
    return this.source.evaluate('string', key, defaultValue, this.contextOf(context));
  }

  withContext(attributes: FlagContext): Flags {
    return new ContextFlags(this.source, { ...this.base, ...attributes }, this.staticContext);
  }

  status(): FlagsStatus {
    return this.source.status();
  }

  onChange(listener: (change: FlagChange) => void): () => void {
    return this.source.subscribe(listener);
  }
}

class SharedFlagsHandle extends ContextFlags implements FlagsHandle {
  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.source.refs--;
    if (this.source.refs === 0) {
      sources.delete(this.source.file);
      await this.source.close();
    }
  }
}

/**
 * Opens the flags of `file` (relative paths resolve against the working directory). Never fails:
 * an unreadable file is reported in `status().error` and every evaluation answers its default.
 */
export async function openFlags(options: OpenFlagsOptions): Promise<FlagsHandle> {
  const file = resolve(options.file);
  let entry = sources.get(file);
  if (!entry) {
    const source = new FlagdFileSource(file, options.log, options.retryIntervalMs);
    entry = { source, ready: source.start() };
    sources.set(file, entry);
  } else {
    entry.source.adoptLogger(options.log);
  }
  entry.source.refs++;
  await entry.ready;
  return new SharedFlagsHandle(entry.source, {}, options.context ?? (() => ({})));
}
