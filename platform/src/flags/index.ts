export * from './flags.js';
export * from './fault-injection.js';
