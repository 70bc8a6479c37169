export * from './event-envelope.js';
export * from './consumed-versions.js';
