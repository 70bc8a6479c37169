export {
  createTelemetry,
  addProcessSpanProcessor,
  type Telemetry,
  type TelemetryOptions,
} from './telemetry.js';
export { traceHttpRequest } from './http-server.js';
export {
  traceDelivery,
  tracePublish,
  registerSubscription,
  type MessagingTelemetry,
} from './messaging.js';
export { durationBucketBoundaries, secondsBetween } from './instruments.js';
export {
  captureTrace,
  correlationAttributes,
  extractTraceContext,
  inTraceOf,
  injectTraceContext,
  traceHeaders,
  type CapturedTrace,
} from './propagation.js';
