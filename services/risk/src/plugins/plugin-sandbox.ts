import { Worker } from 'node:worker_threads';
import { workerSource } from './worker-source.js';

export interface SandboxOptions {
  readonly module: WebAssembly.Module;
  readonly maxMemoryPages: number;
  /** The configuration record passed to `orderly_configure` in every fresh worker. */
  readonly settings: Uint8Array;
  /** How long one order may run before its worker is terminated. */
  readonly callTimeoutMs: number;
  /** How long a fresh worker may take to instantiate and configure the plugin. */
  readonly startTimeoutMs: number;
  readonly workerHeapMb: number;
}

/** What a fresh worker reported: the host checks it against the ABI. */
export interface PluginGreeting {
  readonly abiVersion: number;
  readonly reasons: string;
  readonly configured: number;
}

/**
 * `stopped`: not run, because the caller's `onFault` said to stop after an earlier fault.
 * `crashed`: the worker died outside the plugin (exited or failed, not a trap the worker caught and
 * not its heap limit), or a replacement worker could not start; reported as a `trap` outcome.
 */
export type SandboxFault = 'timeout' | 'trap' | 'memory' | 'crashed' | 'closed' | 'stopped';

export interface RunOptions {
  /**
   * Told of each fault as it happens, with how many orders the worker scored just before it (0 when
   * unknown: a timeout); returning false leaves the rest of the batch unrun (`stopped`).
   */
  readonly onFault?: (fault: SandboxFault, scoredBefore: number) => boolean;
}

/** One order's raw result: the plugin's i64, or the fault that ended its worker. */
export type RawOutcome =
  | { readonly kind: 'result'; readonly raw: bigint; readonly durationMs: number }
  | {
      readonly kind: 'fault';
      readonly fault: SandboxFault;
      readonly detail: string;
      readonly durationMs: number;
    };

interface LiveWorker {
  readonly worker: Worker;
  readonly position: Int32Array;
  readonly startedAt: Float64Array;
}

type CallResult =
  | { readonly kind: 'done'; readonly results: BigInt64Array; readonly durations: Float64Array }
  | {
      readonly kind: 'fault';
      /** Index (in the call) of the order the fault hit. */
      readonly index: number;
      readonly fault: SandboxFault;
      readonly detail: string;
      /** Results of the orders before it, when the worker could still send them. */
      readonly results?: BigInt64Array;
      readonly durations?: Float64Array;
      readonly durationMs: number;
    };

/**
 * One plugin version in a worker thread: a call that overruns, traps or kills its worker ends that
 * worker, the order it hit gets the fault, and the rest of the batch goes on in a fresh worker. Calls
 * are serialised (one worker per version); memory is bounded by the module's declared maximum and
 * the worker's heap by `resourceLimits`.
 */
export class PluginSandbox {
  private current: LiveWorker | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Workers started, including the first: a replaced worker adds one. */
  workersStarted = 0;

  private constructor(private readonly options: SandboxOptions) {}

  /** Starts the first worker; refuses (returns why) when it cannot load or greet. */
  static async start(
    options: SandboxOptions,
  ): Promise<{ sandbox: PluginSandbox; greeting: PluginGreeting } | string> {
    const sandbox = new PluginSandbox(options);
    const started = await sandbox.spawn();
    if (typeof started === 'string') return started;
    sandbox.current = started.live;
    return { sandbox, greeting: started.greeting };
  }

  /** Scores each request (an encoded feature record); never rejects. */
  run(requests: readonly Uint8Array[], options: RunOptions = {}): Promise<RawOutcome[]> {
    const run = this.queue.then(() => this.runNow(requests, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Closes once the calls already queued have finished: a replaced version ends its batches. */
  async retire(): Promise<void> {
    await this.queue;
    await this.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    const live = this.current;
    this.current = undefined;
    if (live) await live.worker.terminate();
  }

  private async runNow(
    requests: readonly Uint8Array[],
    options: RunOptions,
  ): Promise<RawOutcome[]> {
    const outcomes: (RawOutcome | undefined)[] = new Array<RawOutcome | undefined>(requests.length);
    let pending = requests.map((_, index) => index);
    while (pending.length > 0) {
      if (this.closed) {
        for (const index of pending) {
          outcomes[index] = {
            kind: 'fault',
            fault: 'closed',
            detail: 'engine closed',
            durationMs: 0,
          };
        }
        break;
      }
      let live = this.current;
      if (!live) {
        const started = await this.spawn();
        if (typeof started === 'string') {
          for (const index of pending) {
            outcomes[index] = { kind: 'fault', fault: 'crashed', detail: started, durationMs: 0 };
          }
          break;
        }
        live = started.live;
        this.current = live;
      }
      const result = await this.call(
        live,
        pending.map((index) => requests[index] ?? new Uint8Array()),
      );
      if (result.kind === 'done') {
        pending.forEach((index, i) => {
          outcomes[index] = {
            kind: 'result',
            raw: result.results[i] ?? 0n,
            durationMs: result.durations[i] ?? 0,
          };
        });
        break;
      }
      // The worker is not trusted after a fault: end it; the next round starts a fresh one.
      if (this.current === live) this.current = undefined;
      void live.worker.terminate();
      const hit = pending[result.index];
      if (hit !== undefined) {
        outcomes[hit] = {
          kind: 'fault',
          fault: result.fault,
          detail: result.detail,
          durationMs: result.durationMs,
        };
      }
      const done = result.results?.length ?? 0;
      for (let i = 0; i < done; i++) {
        const index = pending[i];
        if (index !== undefined) {
          outcomes[index] = {
            kind: 'result',
            raw: result.results?.[i] ?? 0n,
            durationMs: result.durations?.[i] ?? 0,
          };
        }
      }
      pending = pending.filter((_, i) => i >= done && i !== result.index);
      const goOn = options.onFault?.(result.fault, done) ?? true;
      if (pending.length > 0 && !goOn) {
        for (const index of pending) {
          outcomes[index] = {
            kind: 'fault',
            fault: 'stopped',
            detail: 'not run: the plugin failed repeatedly in this batch',
            durationMs: 0,
          };
        }
        break;
      }
    }
    return outcomes.map(
      (outcome) =>
        outcome ?? {
          kind: 'fault',
          fault: 'trap',
          detail: 'no result was produced',
          durationMs: 0,
        },
    );
  }

  private spawn(): Promise<{ live: LiveWorker; greeting: PluginGreeting } | string> {
    const progress = new SharedArrayBuffer(16);
    const worker = new Worker(workerSource, {
      eval: true,
      workerData: {
        module: this.options.module,
        config: this.options.settings,
        progress,
        maxMemoryBytes: this.options.maxMemoryPages * 65_536,
      },
      resourceLimits: {
        maxOldGenerationSizeMb: this.options.workerHeapMb,
        maxYoungGenerationSizeMb: Math.max(1, Math.floor(this.options.workerHeapMb / 4)),
        stackSizeMb: 1,
      },
      stdout: true,
      stderr: true,
    });
    this.workersStarted++;
    // A plugin cannot write to the console (it has no import for it); the worker itself never does.
    worker.stdout.resume();
    worker.stderr.resume();
    // Faults are handled per call; these keep an idle worker's death from reaching the process.
    worker.on('error', () => undefined);
    worker.on('exit', () => {
      if (this.current?.worker === worker) this.current = undefined;
    });
    const live: LiveWorker = {
      worker,
      position: new Int32Array(progress, 0, 1),
      startedAt: new Float64Array(progress, 8, 1),
    };
    return new Promise((resolve) => {
      const settle = (value: { live: LiveWorker; greeting: PluginGreeting } | string) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (typeof value === 'string') void worker.terminate();
        resolve(value);
      };
      const onMessage = (message: { type: string; message?: string } & PluginGreeting) => {
        if (message.type === 'ready') {
          settle({
            live,
            greeting: {
              abiVersion: message.abiVersion,
              reasons: message.reasons,
              configured: message.configured,
            },
          });
        } else settle(`failed to start: ${message.message ?? 'unknown error'}`);
      };
      const onError = (error: Error) => settle(`worker failed while starting: ${error.message}`);
      const onExit = (code: number) => settle(`worker exited with code ${code} while starting`);
      const timer = setTimeout(
        () => settle(`did not start within ${this.options.startTimeoutMs} ms`),
        this.options.startTimeoutMs,
      );
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  private call(live: LiveWorker, requests: readonly Uint8Array[]): Promise<CallResult> {
    const { worker, position, startedAt } = live;
    const offsets = new Uint32Array(requests.length + 1);
    let size = 0;
    requests.forEach((request, i) => {
      size += request.length;
      offsets[i + 1] = size;
    });
    const data = new Uint8Array(size);
    requests.forEach((request, i) => data.set(request, offsets[i]));
    const callStarted = Date.now();
    Atomics.store(position, 0, 0);
    startedAt[0] = callStarted;
    const limit = this.options.callTimeoutMs;
    return new Promise<CallResult>((resolve) => {
      const settle = (result: CallResult) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(result);
      };
      const fault = (fault: SandboxFault, detail: string) =>
        settle({
          kind: 'fault',
          index: Atomics.load(position, 0),
          fault,
          detail,
          durationMs: Date.now() - (startedAt[0] ?? callStarted),
        });
      const onMessage = (
        message:
          | { type: 'done'; results: BigInt64Array; durations: Float64Array }
          | {
              type: 'trap';
              index: number;
              results: BigInt64Array;
              durations: Float64Array;
              message: string;
              memoryFull: boolean;
            },
      ) => {
        if (message.type === 'done') {
          settle({ kind: 'done', results: message.results, durations: message.durations });
          return;
        }
        settle({
          kind: 'fault',
          index: message.index,
          fault: message.memoryFull ? 'memory' : 'trap',
          detail: message.memoryFull
            ? `${message.message} (memory at its maximum of ${this.options.maxMemoryPages} pages)`
            : message.message,
          results: message.results,
          durations: message.durations,
          durationMs: message.durations[message.index] ?? 0,
        });
      };
      const onError = (error: Error & { code?: string }) =>
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? fault('memory', `worker ran out of heap (${this.options.workerHeapMb} MB)`)
          : fault('crashed', `worker crashed: ${error.message}`);
      const onExit = (code: number) => fault('crashed', `worker exited with code ${code}`);
      // The watchdog: wakes when the order being scored could have reached the limit, and ends the
      // worker if it has (the worker notes when each order starts).
      const watch = () => {
        const elapsed = Date.now() - (startedAt[0] ?? callStarted);
        if (elapsed >= limit) {
          fault('timeout', `order ran past the ${limit} ms limit; worker terminated`);
        } else timer = setTimeout(watch, limit - elapsed);
      };
      let timer = setTimeout(watch, limit);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ data, offsets }, [data.buffer, offsets.buffer]);
    });
  }
}
