import { AppError, type PlatformConfig, type WorkloadIdentity } from '@orderly/platform';
import type { GatewayConfig } from '../../config.js';

/**
 * The console's reach into the services: their operator ports (platform/src/runtime/
 * operator-endpoints.ts), called with the gateway's workload identity, which
 * `workloadIdentity.consoleCallers` lets use the console's routes there (health figures, dead
 * letters and their redrive, timelines, summaries) and nothing else.
 */
export class OperatorPorts {
  constructor(
    private readonly identity: WorkloadIdentity,
    private readonly settings: () => {
      readonly platform: PlatformConfig;
      readonly operatorConsole: GatewayConfig['operatorConsole'];
    },
  ) {}

  /** Every service of the configuration with an operator port, the gateway last. */
  services(): string[] {
    const { platform } = this.settings();
    const names = Object.keys(platform.services).filter((name) => this.urlOf(name) !== undefined);
    return [...names.filter((name) => name !== 'gateway'), ...names.filter((n) => n === 'gateway')];
  }

  urlOf(service: string): string | undefined {
    const { platform, operatorConsole } = this.settings();
    const configured = operatorConsole.operatorUrls[service];
    if (configured) return configured;
    const section = platform.services[service] as
      { host?: unknown; operatorPort?: unknown } | undefined;
    if (typeof section?.host !== 'string' || typeof section.operatorPort !== 'number')
      return undefined;
    if (section.operatorPort === 0) return undefined;
    // A service that binds every address (0.0.0.0) is reached through it on its own machine; across
    // machines (Kubernetes), operatorUrls names each one.
    const host = section.host.includes(':') ? `[${section.host}]` : section.host;
    return `http://${host}:${section.operatorPort}`;
  }

  /** `/readyz` of a service: open to anyone on the operator port, no token. */
  async readiness(service: string, signal: AbortSignal): Promise<OperatorAnswer> {
    return this.call(service, 'GET', '/readyz', undefined, signal, false);
  }

  async get(service: string, path: string, signal: AbortSignal): Promise<OperatorAnswer> {
    return this.call(service, 'GET', path, undefined, signal, true);
  }

  async post(
    service: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<OperatorAnswer> {
    return this.call(service, 'POST', path, body, signal, true);
  }

  private async call(
    service: string,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal,
    signed: boolean,
  ): Promise<OperatorAnswer> {
    const base = this.urlOf(service);
    if (!base) throw operatorPortUnknown(service);
    const headers: Record<string, string> = {};
    if (signed) headers.authorization = await this.identity.authorization(service);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(new URL(path, base), {
      method,
      headers,
      signal,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json };
  }
}

export interface OperatorAnswer {
  readonly status: number;
  readonly json: unknown;
}

export const operatorPortUnknown = (service: string) =>
  new AppError('CONSOLE_SERVICE_UNKNOWN', `no operator port is configured for ${service}`, {
    kind: 'unavailable',
  });

/** A failed operator call as the console shows it: the service's error message, or why it failed. */
export function operatorFailure(answer: OperatorAnswer): string {
  const error = (answer.json as { error?: { code?: string; message?: string } } | undefined)?.error;
  return error ? `${error.code ?? answer.status}: ${error.message ?? ''}` : `HTTP ${answer.status}`;
}
