export * from './service-runtime.js';
export * from './run-main.js';
export * from './define-service.js';
export type { ServiceResources } from './diagnostics.js';
export type {
  OperatorSummary,
  SummarySource,
  TimelineEntry,
  TimelineSource,
} from './console-endpoints.js';
