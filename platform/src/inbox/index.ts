export * from './event-consumer.js';
