import { pino, type Logger as PinoLogger } from 'pino';

/**
 * Structured JSON logs on stdout. Services receive a `Logger` from the platform and never import
 * pino themselves. Fixed messages, structured fields, ids rather than payloads.
 */
export type Logger = PinoLogger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Paths that must never reach a log line, whatever a caller passes. */
export const redactedPaths = [
  'password',
  '*.password',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'paymentMethod',
  '*.paymentMethod',
  'cardNumber',
  '*.cardNumber',
];

export interface LoggerOptions {
  readonly service: string;
  readonly level: LogLevel;
  readonly version?: string;
  readonly environment?: string;
  /** Tests pass a stream to capture lines; production writes to stdout. */
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const base: Record<string, string> = { 'service.name': options.service };
  if (options.version) base['service.version'] = options.version;
  if (options.environment) base['deployment.environment'] = options.environment;
  const pinoOptions = {
    level: options.level,
    base,
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: redactedPaths, censor: '[redacted]' },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}
