export { memorySharedState } from './memory-shared-state.js';
export { natsSharedState, type NatsSharedStateOptions } from './nats-shared-state.js';
export { sharedStateUnavailable, type SharedChange, type SharedState } from './shared-state.js';
export { openSharedState, type SharedStateOptions } from './open-shared-state.js';
