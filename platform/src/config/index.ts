export * from './load-config.js';
export * from './platform-config.js';
