export * from './build-info.js';
export * from './embedded-files.js';
