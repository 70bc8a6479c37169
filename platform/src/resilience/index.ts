export * from './circuit-breaker.js';
export * from './retry.js';
export * from './dependency-failure.js';
