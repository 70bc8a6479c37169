export * from './event-consumer.js';
export * from './inbox-cleanup.js';
