export * from './rpc-errors.js';
export * from './rpc-client.js';
export * from './deadline.js';
export * from './rpc-telemetry.js';
export * from './workload-identity.js';
export * from './rpc-resilience.js';
