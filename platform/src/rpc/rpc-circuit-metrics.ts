import type { Counter, Meter } from '@opentelemetry/api';
import type { CircuitState } from '../resilience/index.js';

/**
 * The circuit breakers of a service's RPC clients as metrics, per callee (`rpc.service`):
 * `orderly.rpc.circuit.open` is 1 while a breaker refuses calls (open, or half-open waiting for its
 * trial to succeed), read at each collection; `orderly.rpc.circuit.opened` counts the openings, so one
 * that opened and closed between two scrapes is still seen.
 */
interface CircuitRegistry {
  readonly breakers: Set<{ readonly rpcService: string; readonly state: () => CircuitState }>;
  readonly opened: Counter;
}

const registries = new WeakMap<Meter, CircuitRegistry>();

function registryOf(meter: Meter): CircuitRegistry {
  let registry = registries.get(meter);
  if (registry) return registry;
  const breakers: CircuitRegistry['breakers'] = new Set();
  meter
    .createObservableGauge('orderly.rpc.circuit.open', {
      unit: '{circuit}',
      description: '1 while the circuit breaker to this callee refuses calls (open or half-open).',
    })
    .addCallback((result) => {
      const open = new Map<string, number>();
      for (const breaker of breakers) {
        const value = breaker.state() === 'closed' ? 0 : 1;
        open.set(breaker.rpcService, Math.max(open.get(breaker.rpcService) ?? 0, value));
      }
      for (const [rpcService, value] of open) result.observe(value, { 'rpc.service': rpcService });
    });
  registry = {
    breakers,
    opened: meter.createCounter('orderly.rpc.circuit.opened', {
      unit: '{opening}',
      description: 'Times the circuit breaker to this callee opened.',
    }),
  };
  registries.set(meter, registry);
  return registry;
}

/**
 * Reports one breaker on `meter` from now on; returns what its breaker calls on a state change.
 * `state` is read at each collection (an open breaker turns half-open by time, not by an event).
 */
export function observeCircuit(
  meter: Meter,
  rpcService: string,
  state: () => CircuitState,
): (next: CircuitState) => void {
  const registry = registryOf(meter);
  registry.breakers.add({ rpcService, state });
  return (next) => {
    if (next === 'open') registry.opened.add(1, { 'rpc.service': rpcService });
  };
}
