import { randomBytes } from 'node:crypto';
import { orderlyClient, type OrderlyClient } from '@orderly/client';
import type { ClientVersion } from './drill-file.js';

/**
 * The drill's clients: an open-loop stream of orders through the gateway's public API, each with
 * its own idempotency key. A request without a definite answer (network error, timeout, 5xx, 429)
 * is retried with the SAME key after a backoff with jitter, honouring Retry-After — what a real
 * client does — so the server must turn retries into one order. The accepted (202) order ids and
 * every key sent are the ground truth the invariants compare the databases against.
 */
export const catalog = {
  plenty: { sku: 'CHAOS-PLENTY', name: 'Plenty', priceCents: 1250 },
  scarce: { sku: 'CHAOS-SCARCE', name: 'Scarce', priceCents: 990 },
} as const;

export interface LoadOptions {
  readonly gatewayUrl: string;
  readonly customers: number;
  readonly maxInFlight: number;
  readonly requestTimeoutMs: number;
  readonly giveUpAfterMs: number;
  readonly password: string;
}

export interface LoadStats {
  offered: number;
  accepted: number;
  /** A definite refusal (4xx other than 401/408/429). */
  refused: number;
  /** Gave up without a definite answer: the order may or may not exist (never a phantom). */
  inDoubt: number;
  /** Not sent because maxInFlight requests were open. */
  shed: number;
  attempts: number;
  retries: number;
  byStatus: Record<string, number>;
}

/** One order request as the client lived it: from its first attempt to its definite answer (or giving up). */
export interface RequestRecord {
  readonly startedAt: number;
  readonly endedAt: number;
  readonly attempts: number;
  readonly outcome: 'accepted' | 'refused' | 'in-doubt';
  readonly orderId?: string;
  /** The API version the client asked for (X-Contract-Version; `none`: no header), when the drill sets one. */
  readonly version?: ClientVersion;
  /** The last answer's status (0: no answer) and error code, and the version it was served in. */
  readonly status?: number;
  readonly code?: string;
  readonly servedVersion?: string;
}

/** What one probe request of `expect-clients` got. */
export interface ProbeAnswer {
  readonly status: number;
  readonly code: string | undefined;
  readonly message: string | undefined;
  readonly servedVersion: string | undefined;
  /** Header names present in the answer (lower case). */
  readonly headers: readonly string[];
  /** The headers an expectation may name, with their values (Deprecation, Sunset, Link, ...). */
  readonly headerValues: Readonly<Record<string, string>>;
}

/** An attempt without a definite answer (network error, timeout, 5xx, 429), when it ended. */
export interface FailedAttempt {
  readonly at: number;
  readonly status: string;
}

type Body = {
  lines: { sku: string; quantity: number }[];
  paymentMethod: string;
  /** Version 2 of the public API only: the order's currency (docs/contracts.md). */
  currency?: string;
};

/** The currency of the drill's catalog (products are created through the API without one: EUR). */
const catalogCurrency = 'EUR';

/** What a client of `version` sends: version 2 names the order's currency, version 1 does not. */
export function versionedBody(body: Body, version: '1' | '2'): Body {
  return version === '2' ? { ...body, currency: catalogCurrency } : body;
}

/** The version of each request by weight, spread evenly (request i gets the same one every run). */
export function pickVersion(
  weights: Partial<Record<ClientVersion, number>>,
  i: number,
): ClientVersion {
  const entries = Object.entries(weights).filter(([, w]) => (w ?? 0) > 0) as [
    ClientVersion,
    number,
  ][];
  const total = entries.reduce((n, [, w]) => n + w, 0);
  let point = ((i * 0.6180339887498949) % 1) * total;
  for (const [version, weight] of entries) {
    if (point < weight) return version;
    point -= weight;
  }
  return entries[entries.length - 1]![0];
}

const versionHeader = 'x-contract-version';
/** Answer headers an expectation may look at. */
const probedHeaders = ['deprecation', 'sunset', 'link', versionHeader];

/** 3 in 5 pay and are in stock, 1 in 5 is declined, 1 in 5 asks for the scarce product (which runs out). */
export function orderBody(i: number): Body {
  const kind = i % 5;
  if (kind === 3)
    return { lines: [{ sku: catalog.plenty.sku, quantity: 1 }], paymentMethod: 'pm_card_declined' };
  if (kind === 4)
    return { lines: [{ sku: catalog.scarce.sku, quantity: 2 }], paymentMethod: 'pm_card_ok' };
  const lines: Body['lines'] = [{ sku: catalog.plenty.sku, quantity: 1 + (i % 3) }];
  if (i % 7 === 0) lines.push({ sku: catalog.scarce.sku, quantity: 1 });
  return { lines, paymentMethod: 'pm_card_ok' };
}

/** The API's error envelope. */
type ApiError = { error?: { code?: string; message?: string } };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class LoadGenerator {
  readonly stats: LoadStats = {
    offered: 0,
    accepted: 0,
    refused: 0,
    inDoubt: 0,
    shed: 0,
    attempts: 0,
    retries: 0,
    byStatus: {},
  };
  readonly acceptedIds: string[] = [];
  readonly sentKeys: string[] = [];
  readonly refusals: string[] = [];
  /** Every request with its timing: what the clients saw during each fault (see client-view.ts). */
  readonly requests: RequestRecord[] = [];
  readonly failedAttempts: FailedAttempt[] = [];
  private readonly tokens = new Map<number, Promise<string>>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly runId = randomBytes(4).toString('hex');
  private multiplier = 1;
  private next = 0;
  private probes = 0;
  /** The API versions the clients use now, by weight; undefined: no header (as before versions). */
  private versions: Partial<Record<ClientVersion, number>> | undefined;
  /** The public API through its typed client (@orderly/client): a changed contract fails to compile here. */
  private readonly api: OrderlyClient;

  constructor(private readonly options: LoadOptions) {
    this.api = orderlyClient({ baseUrl: options.gatewayUrl });
  }

  get open(): number {
    return this.inFlight.size;
  }

  setMultiplier(multiplier: number): void {
    this.multiplier = multiplier;
  }

  /** From now on each new request is of one of these API versions, by weight (`clients` steps). */
  setClientVersions(weights: Partial<Record<ClientVersion, number>> | undefined): void {
    this.versions = weights;
  }

  /** Registers and logs in every customer before the drill starts. */
  async prepare(): Promise<void> {
    for (let c = 0; c < this.options.customers; c++) await this.token(c);
  }

  /** Offers orders at `ratePerSecond` × the current multiplier until `durationMs` passed. */
  async run(ratePerSecond: number, durationMs: number, onTick?: () => void): Promise<void> {
    const started = Date.now();
    let credit = 0;
    let last = started;
    while (Date.now() - started < durationMs) {
      const now = Date.now();
      credit += ((now - last) / 1000) * ratePerSecond * this.multiplier;
      last = now;
      while (credit >= 1) {
        credit -= 1;
        this.offer();
      }
      onTick?.();
      await sleep(20);
    }
  }

  /** Waits until every open request got its answer or gave up. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private offer(): void {
    const i = this.next++;
    this.stats.offered++;
    if (this.inFlight.size >= this.options.maxInFlight) {
      this.stats.shed++;
      return;
    }
    const task = this.place(i).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  private async place(i: number): Promise<void> {
    const customer = i % this.options.customers;
    const key = `chaos-${this.runId}-${i}`;
    this.sentKeys.push(key);
    const version = this.versions ? pickVersion(this.versions, i) : undefined;
    const body = versionedBody(orderBody(i), version === '2' ? '2' : '1');
    const versionHeaders: Record<string, string> =
      version === undefined || version === 'none' ? {} : { [versionHeader]: version };
    const startedAt = Date.now();
    const giveUpAt = startedAt + this.options.giveUpAfterMs;
    let last: { status: number; code?: string; servedVersion?: string } = { status: 0 };
    const done = (attempts: number, outcome: RequestRecord['outcome'], orderId?: string) =>
      this.requests.push({
        startedAt,
        endedAt: Date.now(),
        attempts,
        outcome,
        ...(orderId ? { orderId } : {}),
        ...(version ? { version } : {}),
        status: last.status,
        ...(last.code ? { code: last.code } : {}),
        ...(last.servedVersion ? { servedVersion: last.servedVersion } : {}),
      });
    for (let attempt = 1; ; attempt++) {
      this.stats.attempts++;
      if (attempt > 1) this.stats.retries++;
      let status = 0;
      let retryAfterMs: number | undefined;
      try {
        const token = await this.token(customer);
        const { data, error, response } = await this.api.POST('/v1/orders', {
          params: { header: { 'Idempotency-Key': key } },
          headers: { authorization: `Bearer ${token}`, ...versionHeaders },
          body,
          signal: AbortSignal.timeout(this.options.requestTimeoutMs),
        });
        status = response.status;
        const retryAfter = response.headers.get('retry-after');
        if (retryAfter && Number.isFinite(Number(retryAfter)))
          retryAfterMs = Number(retryAfter) * 1000;
        const json = { orderId: data?.orderId, error: (error as ApiError | undefined)?.error };
        last = {
          status,
          ...(json.error?.code ? { code: json.error.code } : {}),
          ...(response.headers.get(versionHeader)
            ? { servedVersion: response.headers.get(versionHeader) ?? '' }
            : {}),
        };
        if (status === 202 && json.orderId) {
          this.count('202');
          this.stats.accepted++;
          this.acceptedIds.push(json.orderId);
          done(attempt, 'accepted', json.orderId);
          return;
        }
        if (status === 401) this.tokens.delete(customer);
        else if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
          this.count(String(status));
          this.stats.refused++;
          if (this.refusals.length < 20)
            this.refusals.push(`${status} ${json.error?.code ?? ''} for key ${key}`);
          done(attempt, 'refused');
          return;
        }
      } catch {
        status = 0;
        last = { status: 0 };
      }
      this.count(status === 0 ? 'network/timeout' : String(status));
      this.failedAttempts.push({
        at: Date.now(),
        status: status === 0 ? 'network/timeout' : String(status),
      });
      if (Date.now() >= giveUpAt) {
        this.stats.inDoubt++;
        done(attempt, 'in-doubt');
        return;
      }
      // Exponential backoff with full jitter, capped; a server's Retry-After wins when it asks for longer.
      const backoff = Math.random() * Math.min(5000, 100 * 2 ** Math.min(attempt, 10));
      await sleep(Math.max(backoff, retryAfterMs ?? 0));
    }
  }

  /**
   * `count` orders as clients of `version` (`none`: no header, a `bodyVersion` body), one attempt
   * each (a 401 logs in again first: tokens may be of an algorithm no longer accepted). Accepted
   * ones are real orders: they join the accepted ids and keys the invariants check.
   */
  async probe(
    version: ClientVersion,
    bodyVersion: '1' | '2',
    count: number,
  ): Promise<ProbeAnswer[]> {
    const answers: ProbeAnswer[] = [];
    for (let n = 0; n < count; n++) {
      const i = this.probes++;
      const key = `chaos-${this.runId}-probe-${i}`;
      this.sentKeys.push(key);
      const customer = i % this.options.customers;
      for (let attempt = 1; ; attempt++) {
        let answer: ProbeAnswer;
        try {
          const token = await this.token(customer);
          const { data, error, response } = await this.api.POST('/v1/orders', {
            params: { header: { 'Idempotency-Key': key } },
            headers: {
              authorization: `Bearer ${token}`,
              ...(version === 'none' ? {} : { [versionHeader]: version }),
            },
            body: versionedBody(orderBody(i), bodyVersion),
            signal: AbortSignal.timeout(this.options.requestTimeoutMs),
          });
          const apiError = (error as ApiError | undefined)?.error;
          const headerValues: Record<string, string> = {};
          for (const name of probedHeaders) {
            const value = response.headers.get(name);
            if (value !== null) headerValues[name] = value;
          }
          answer = {
            status: response.status,
            code: apiError?.code,
            message: apiError?.message,
            servedVersion: response.headers.get(versionHeader) ?? undefined,
            headers: [...response.headers.keys()],
            headerValues,
          };
          // Not in the load's figures (the expectation reports them), but checked like every order.
          if (response.status === 202 && data?.orderId) this.acceptedIds.push(data.orderId);
        } catch (caught) {
          answer = {
            status: 0,
            code: undefined,
            message: caught instanceof Error ? caught.message : String(caught),
            servedVersion: undefined,
            headers: [],
            headerValues: {},
          };
        }
        if (answer.status === 401 && attempt === 1) {
          this.tokens.delete(customer);
          continue;
        }
        answers.push(answer);
        break;
      }
    }
    return answers;
  }

  private count(status: string): void {
    this.stats.byStatus[status] = (this.stats.byStatus[status] ?? 0) + 1;
  }

  private token(customer: number): Promise<string> {
    let token = this.tokens.get(customer);
    if (!token) {
      token = this.logIn(`chaos-${this.runId}-customer-${customer}@chaos.orderly.test`);
      token.catch(() => this.tokens.delete(customer));
      this.tokens.set(customer, token);
    }
    return token;
  }

  private async logIn(email: string): Promise<string> {
    const credentials = { body: { email, password: this.options.password } };
    const registered = await this.api.POST('/v1/auth/register', {
      ...credentials,
      signal: AbortSignal.timeout(this.options.requestTimeoutMs),
    });
    if (registered.response.status !== 201 && registered.response.status !== 409)
      throw new Error(`register answered ${registered.response.status}`);
    const { data, response } = await this.api.POST('/v1/auth/login', {
      ...credentials,
      signal: AbortSignal.timeout(this.options.requestTimeoutMs),
    });
    if (response.status !== 200 || !data) throw new Error(`login answered ${response.status}`);
    return data.accessToken;
  }
}

/** The drill's catalog, set up as an operator would: the bootstrap admin through the gateway's admin routes. */
export async function createCatalog(
  gatewayUrl: string,
  admin: { email: string; password: string },
  stock: { plenty: number; scarce: number },
): Promise<Record<string, number>> {
  const login = await orderlyClient({ baseUrl: gatewayUrl }).POST('/v1/auth/login', {
    body: admin,
  });
  const accessToken = login.data?.accessToken;
  if (!accessToken) throw new Error(`admin login answered ${login.response.status}`);
  const api = orderlyClient({ baseUrl: gatewayUrl, token: () => accessToken });
  const check = ({ response, error }: { response: Response; error?: unknown }, what: string) => {
    if (response.status !== 200)
      throw new Error(`${what} answered ${response.status} ${JSON.stringify(error)}`);
  };
  const stockBySku: Record<string, number> = {};
  for (const [kind, product] of Object.entries(catalog)) {
    const quantity = stock[kind as keyof typeof stock];
    check(
      await api.POST('/v1/admin/products', {
        body: { sku: product.sku, name: product.name, priceCents: product.priceCents },
      }),
      '/v1/admin/products',
    );
    check(
      await api.POST('/v1/admin/stock', { body: { sku: product.sku, delta: quantity } }),
      '/v1/admin/stock',
    );
    stockBySku[product.sku] = quantity;
  }
  return stockBySku;
}
