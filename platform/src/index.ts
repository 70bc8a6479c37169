// The public surface of @orderly/platform: what services, tools, bench and the repo tests use, plus
// the types in those names' signatures. Anything else stays inside its module (platform's own tests
// import it from there). Everything runtime/index.ts exports is exported here too.
export {
  MemoryBus,
  busHeaders,
  connectNatsBus,
  type Bus,
  type BusDiagnostics,
  type BusMessage,
  type ConsumerLag,
  type DeadLetter,
  type Delivery,
  type DeliveryHandler,
  type MemoryBusOptions,
  type NatsBusOptions,
  type Subscription,
  type SubscriptionOptions,
} from './bus/index.js';
export {
  ConfigError,
  ConfigSource,
  LiveConfig,
  configValue,
  deepMerge,
  describeConfig,
  isReloadable,
  loadConfigDocument,
  parseConfigSection,
  parseServiceConfig,
  platformConfigSchema,
  reloadable,
  reloadablePaths,
  serviceEndpointsShape,
  type ConfigDocument,
  type ConfigEntry,
  type ConfigEvent,
  type ConfigSourceOptions,
  type LiveConfigStatus,
  type PlatformConfig,
  type ServiceConfig,
  type WatchSettings,
} from './config/index.js';
export {
  Database,
  GroupCommit,
  PostgresUserAccessError,
  assertPostgresUserCanReach,
  databaseUrl,
  type DatabaseOptions,
  type DeadlineOptions,
  type GroupCommitOptions,
  type QueryResultRows,
  type Sql,
  type TransactionOptions,
} from './db/index.js';
export {
  AppError,
  deadlineExceeded,
  findAppError,
  isDeadlineExceeded,
  type AppErrorOptions,
  type ErrorKind,
} from './errors/index.js';
export {
  consumedEventVersions,
  decodeEvent,
  eventSubject,
  handlersForVersions,
  type ConsumedVersions,
  type ConsumedVersionsDeclaration,
  newEvent,
  type EventInit,
  type NewEvent,
} from './events/index.js';
export { FaultInjector, type RequestFault } from './faults/index.js';
export {
  openFlags,
  type FlagChange,
  type FlagContext,
  type FlagContextValue,
  type Flags,
  type FlagsHandle,
  type FlagsStatus,
  type OpenFlagsOptions,
} from './flags/index.js';
export {
  onBatch,
  onBatchOf,
  type BatchItem,
  type EventContext,
  type EventHandler,
} from './inbox/index.js';
export {
  createLogger,
  type LogDestination,
  type LogLevel,
  type Logger,
  type LoggerOptions,
} from './log/index.js';
export {
  diffOpenApi,
  type ContractChange,
  type ContractChangeKind,
  type ContractChangeLocation,
  type ContractChangeTarget,
  type ContractDiff,
  type ContractDiffLabels,
} from './openapi/index.js';
export { Outbox, type OutboxAddOptions, type PreparedEvent } from './outbox/index.js';
export { buildInfo, embeddedFile, embeddedFolder, type BuildInfo } from './packaging/index.js';
export { decodePageCursor, encodePageCursor } from './paging/index.js';
export {
  WorkloadIdentity,
  createRpcClient,
  deadlineOf,
  errorCodeHeader,
  errorMappingInterceptor,
  fromRpcError,
  generateWorkloadKeyPair,
  isWorkloadName,
  operatorWorkload,
  rpcCallerCheck,
  sheddingHeader,
  toConnectError,
  type RpcClientOptions,
} from './rpc/index.js';
export {
  ServiceRuntime,
  createService,
  defineService,
  openBus,
  openIdentity,
  runServiceMain,
  type AnyServiceDefinition,
  type CreateServiceOptions,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceRuntimeOptions,
  type ServiceSection,
  type ServiceResources,
  type Stoppable,
  type OperatorSummary,
  type SummarySource,
  type TimelineEntry,
  type TimelineSource,
} from './runtime/index.js';
export {
  memorySharedState,
  openSharedState,
  sharedStateUnavailable,
  type SharedChange,
  type SharedState,
  type SharedStateOptions,
} from './shared-state/index.js';
export {
  captureTrace,
  inTraceOf,
  secondsBetween,
  type CapturedTrace,
  type Telemetry,
} from './telemetry/index.js';
