export * from './registry.js';
export * from './all-services.js';
