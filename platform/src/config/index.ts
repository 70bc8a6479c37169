export * from './load-config.js';
export * from './platform-config.js';
export * from './reloadable.js';
export * from './config-report.js';
export * from './config-source.js';
export * from './live-config.js';
