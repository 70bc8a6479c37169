import type { Interceptor } from '@connectrpc/connect';
import type { Bus, BusMessage, DeliveryHandler, SubscriptionOptions } from '../bus/bus.js';
import { AppError } from '../errors/index.js';
import type { FlagContext, Flags } from '../flags/index.js';

/**
 * Fault injection driven by flags, the same family for every service (target one with a rule on
 * the `service` attribute of the evaluation context). All off unless the flags file turns them on;
 * see docs/flags.md.
 *
 * - `fault-latency-ms` (number): added before handling each RPC / HTTP request.
 * - `fault-error-rate` (number, percent): that share of RPC / HTTP requests fail as unavailable (503).
 * - `fault-readiness-fail` (boolean): /readyz answers 503.
 * - `fault-consumer-delay-ms` (number): added before each event delivery is handled (slow consumer).
 * - `fault-publish-drop-rate` (number, percent): that share of outbox publishes is dropped, as if the
 *   broker never acknowledged them; the outbox keeps the rows and publishes them again later.
 * - `fault-timer-leak-every-ms` (number, ms): while above 0, the service leaks one timer that never
 *   fires every that many milliseconds (a forgotten `clearTimeout`), for `orderly doctor` and the leak
 *   tests to find. They are released when the flag goes back to 0 or the service stops, so a drill ends.
 *
 * Fault flags are evaluated through OpenFeature like any flag, but their values are cached per
 * context until the flag definitions change, so a request pays a map lookup rather than an
 * evaluation. (Consequence: targeting rules on time cannot drive fault flags.)
 */
export const faultFlags = {
  latencyMs: 'fault-latency-ms',
  errorRate: 'fault-error-rate',
  readinessFail: 'fault-readiness-fail',
  consumerDelayMs: 'fault-consumer-delay-ms',
  publishDropRate: 'fault-publish-drop-rate',
  timerLeakEveryMs: 'fault-timer-leak-every-ms',
} as const;

/** Node's longest timer (about 24.8 days): a leaked timer that in practice never fires. */
const neverFiresMs = 2_147_483_647;

export const faultInjectedCode = 'FAULT_INJECTED';

export interface RequestFault {
  readonly delayMs: number;
  /** Set when this request must fail. */
  readonly failure: AppError | undefined;
}

export class FaultInjector {
  private readonly cache = new Map<string, Promise<number | boolean>>();
  private readonly unsubscribe: () => void;
  private timerLeak:
    { everyMs: number; ticker: NodeJS.Timeout; leaked: NodeJS.Timeout[] } | undefined;
  /** Counts flag changes, so an older evaluation of the leak flag finishing late changes nothing. */
  private generation = 0;
  private closed = false;

  /** `flags` should already carry the service (`flags.withContext({ service })`). */
  constructor(
    private readonly flags: Flags,
    private readonly random: () => number = Math.random,
  ) {
    this.unsubscribe = flags.onChange(() => {
      this.cache.clear();
      void this.followTimerLeak();
    });
    void this.followTimerLeak();
  }

  /** Starts, changes or stops the leaking of timers as `fault-timer-leak-every-ms` says. */
  private async followTimerLeak(): Promise<void> {
    const generation = ++this.generation;
    const everyMs = Math.max(0, await this.cachedNumber(faultFlags.timerLeakEveryMs));
    if (this.closed || generation !== this.generation) return;
    if ((this.timerLeak?.everyMs ?? 0) === everyMs) return;
    this.releaseLeakedTimers();
    if (everyMs === 0) return;
    const leaked: NodeJS.Timeout[] = [];
    const ticker = setInterval(
      () => leaked.push(setTimeout(() => undefined, neverFiresMs)),
      everyMs,
    );
    this.timerLeak = { everyMs, ticker, leaked };
  }

  private releaseLeakedTimers(): void {
    if (!this.timerLeak) return;
    clearInterval(this.timerLeak.ticker);
    for (const timer of this.timerLeak.leaked) clearTimeout(timer);
    this.timerLeak = undefined;
  }

  private cachedNumber(key: string, context: FlagContext = {}): Promise<number> {
    const cacheKey = `n:${key}:${JSON.stringify(context)}`;
    let value = this.cache.get(cacheKey);
    if (!value) {
      value = this.flags.number(key, 0, context);
      this.cache.set(cacheKey, value);
    }
    return value as Promise<number>;
  }

  private cachedBoolean(key: string, context: FlagContext = {}): Promise<boolean> {
    const cacheKey = `b:${key}:${JSON.stringify(context)}`;
    let value = this.cache.get(cacheKey);
    if (!value) {
      value = this.flags.boolean(key, false, context);
      this.cache.set(cacheKey, value);
    }
    return value as Promise<boolean>;
  }

  /** True with probability `percent` / 100. */
  private roll(percent: number): boolean {
    return percent > 0 && this.random() * 100 < percent;
  }

  /** What to do to one incoming RPC or HTTP request. */
  async requestFault(kind: 'rpc' | 'http'): Promise<RequestFault> {
    const [latency, errorRate] = await Promise.all([
      this.cachedNumber(faultFlags.latencyMs, { transport: kind }),
      this.cachedNumber(faultFlags.errorRate, { transport: kind }),
    ]);
    const failure = this.roll(errorRate)
      ? new AppError(
          faultInjectedCode,
          `injected failure (flag ${faultFlags.errorRate} = ${errorRate}%)`,
          {
            kind: 'unavailable',
          },
        )
      : undefined;
    return { delayMs: Math.max(0, latency), failure };
  }

  /** A reason to fail readiness, or undefined. */
  async readinessFailure(): Promise<string | undefined> {
    return (await this.cachedBoolean(faultFlags.readinessFail))
      ? `failing by flag ${faultFlags.readinessFail}`
      : undefined;
  }

  async consumerDelayMs(subscription: string): Promise<number> {
    return Math.max(0, await this.cachedNumber(faultFlags.consumerDelayMs, { subscription }));
  }

  async dropsPublish(subject: string): Promise<boolean> {
    return this.roll(await this.cachedNumber(faultFlags.publishDropRate, { subject }));
  }

  /**
   * The bus with publish drops and slow consumption applied. Everything else is the bus itself, so
   * the wrapper follows the Bus interface as it grows.
   */
  wrapBus(bus: Bus): Bus {
    const publish = async (messages: readonly BusMessage[]): Promise<void> => {
      const kept: BusMessage[] = [];
      const dropped: BusMessage[] = [];
      for (const message of messages)
        ((await this.dropsPublish(message.subject)) ? dropped : kept).push(message);
      if (kept.length > 0) await bus.publish(kept);
      if (dropped.length > 0) {
        throw new AppError(
          faultInjectedCode,
          `publish of ${dropped.length} message(s) dropped (flag ${faultFlags.publishDropRate})`,
          { kind: 'unavailable', details: { eventIds: dropped.map((m) => m.id) } },
        );
      }
    };
    const subscribe = (options: SubscriptionOptions, handler: DeliveryHandler) =>
      bus.subscribe(options, async (delivery) => {
        const delayMs = await this.consumerDelayMs(options.name);
        if (delayMs > 0) await sleep(delayMs);
        return handler(delivery);
      });
    return new Proxy(bus, {
      get(target, property) {
        if (property === 'publish') return publish;
        if (property === 'subscribe') return subscribe;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function'
          ? (value as (...args: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  }

  /** A Connect interceptor: added latency, then maybe an Unavailable error, before the handler runs. */
  rpcInterceptor(): Interceptor {
    return (next) => async (request) => {
      const fault = await this.requestFault('rpc');
      if (fault.delayMs > 0) await sleep(fault.delayMs, request.signal);
      if (fault.failure) throw fault.failure;
      return next(request);
    };
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.releaseLeakedTimers();
    this.cache.clear();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
