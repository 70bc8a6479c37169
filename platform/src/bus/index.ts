export * from './bus.js';
export { MemoryBus, defaultDuplicateWindowSize, type MemoryBusOptions } from './memory-bus.js';
export { connectNatsBus, type NatsBusOptions } from './nats-bus.js';
export {
  defaultDeadLetterSubjectPrefix,
  defaultEventSubjects,
  eventSubjectPrefix,
} from './bus-subjects.js';
