import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../log/index.js';
import type { ConfigDocument } from './load-config.js';
import { contentHash } from './reloadable.js';

/**
 * The configuration files of a process, watched. A change is noticed two ways: a watch on each
 * file's directory (which also sees the atomic symlink swap Kubernetes does when a ConfigMap volume
 * is updated: `..data` is re-pointed, the file itself is never written) and a poll as a fallback
 * (network file systems, missed events). Either way the files are re-read and hashed; only a
 * different hash counts as a change, and bursts of events are debounced into one reload.
 *
 * A reload re-reads every layer (`load`) and checks it (`validate`, e.g. every schema the process
 * uses). Listeners get either the new document or the reason it was rejected; the source keeps
 * the last document that passed.
 */
export type ConfigUpdate =
  | { readonly ok: true; readonly document: ConfigDocument; readonly filesHash: string }
  | { readonly ok: false; readonly error: Error; readonly filesHash: string };

export interface ConfigSourceOptions {
  /** Reads every layer again (files, environment, command line) into one document. */
  readonly load: () => ConfigDocument;
  /** Throws (a ConfigError naming key, value and rule) when a document must not be applied. */
  readonly validate?: (document: ConfigDocument) => void;
  /** Files to watch; defaults to the files the first document was read from. */
  readonly files?: readonly string[];
  readonly log?: Logger;
}

export interface WatchSettings {
  readonly debounceMs: number;
  readonly pollIntervalMs: number;
  /** False relies on the poll alone (default true). Read once, when watching starts. */
  readonly watchDirectories?: boolean;
}

export class ConfigSource {
  private current: ConfigDocument;
  private hash: string;
  private readonly files: readonly string[];
  private readonly listeners = new Set<(update: ConfigUpdate) => void>();
  private watchers: FSWatcher[] = [];
  private debounceTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private settings: () => WatchSettings = () => ({ debounceMs: 0, pollIntervalMs: 0 });
  private closed = false;

  /** Loads and validates the first document; throws if it is invalid (the process must not start). */
  constructor(private readonly options: ConfigSourceOptions) {
    this.current = options.load();
    options.validate?.(this.current);
    this.files = (options.files ?? this.current.files).map((file) => resolve(file));
    this.hash = this.readFilesHash();
  }

  get document(): ConfigDocument {
    return this.current;
  }

  /** Hash of the watched files' contents as last read. */
  get filesHash(): string {
    return this.hash;
  }

  get watchedFiles(): readonly string[] {
    return this.files;
  }

  subscribe(listener: (update: ConfigUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts watching. `settings` is read again at every event and poll, so it may follow reloaded config. */
  watch(settings: () => WatchSettings): void {
    if (this.closed || this.watchers.length > 0 || this.pollTimer) return;
    this.settings = settings;
    const dirs =
      settings().watchDirectories === false ? [] : new Set(this.files.map((file) => dirname(file)));
    for (const dir of dirs) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.scheduleCheck());
        watcher.on('error', (error) => {
          this.options.log?.warn(
            { err: error, dir },
            'configuration directory watch failed; polling only',
          );
          watcher.close();
        });
        this.watchers.push(watcher);
      } catch (error) {
        this.options.log?.warn(
          { err: error, dir },
          'cannot watch configuration directory; polling only',
        );
      }
    }
    this.schedulePoll();
  }

  private scheduleCheck(): void {
    if (this.closed) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      this.check();
    }, this.settings().debounceMs);
    this.debounceTimer.unref();
  }

  private schedulePoll(): void {
    const interval = this.settings().pollIntervalMs;
    if (this.closed || interval <= 0) return;
    this.pollTimer = setTimeout(() => {
      this.check();
      this.schedulePoll();
    }, interval);
    this.pollTimer.unref();
  }

  /**
   * Re-reads the files; when their content changed, reloads and tells the listeners.
   * Returns whether the content had changed.
   */
  check(): boolean {
    if (this.closed) return false;
    const hash = this.readFilesHash();
    if (hash === this.hash) return false;
    this.hash = hash;
    this.reload();
    return true;
  }

  /** Reloads whatever the files hold now and tells the listeners (tests, operator commands). */
  reload(): ConfigUpdate {
    let update: ConfigUpdate;
    try {
      const document = this.options.load();
      this.options.validate?.(document);
      this.current = document;
      update = { ok: true, document, filesHash: this.hash };
    } catch (error) {
      update = {
        ok: false,
        error: error instanceof Error ? error : new Error(String(error)),
        filesHash: this.hash,
      };
    }
    for (const listener of this.listeners) listener(update);
    return update;
  }

  private readFilesHash(): string {
    // A file that vanished for a moment (mid-swap) hashes as missing; the next event or poll re-reads it.
    const parts = this.files.map((file) => {
      try {
        return `${file}\n${readFileSync(file, 'utf8')}`;
      } catch {
        return `${file}\n(missing)`;
      }
    });
    return contentHash(parts.join('\n\0\n'));
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.listeners.clear();
  }
}
