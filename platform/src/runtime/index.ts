export * from './service-runtime.js';
export * from './run-main.js';
