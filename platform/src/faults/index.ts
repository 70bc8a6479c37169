export * from './fault-injection.js';
