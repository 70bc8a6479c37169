import { defineCommand, toolVersion, type Program } from './command-line.js';

/**
 * Every `orderly` command: its usage, options and an example (what `--help` prints), and the module
 * that runs it. A module is loaded only when its command runs, so `--help`, a usage error or a
 * dead-letters command does not load every service's code.
 */
export const orderlyVersion = toolVersion(new URL('../package.json', import.meta.url));

export const listDeadLettersCommand = defineCommand({
  name: `orderly dead-letters list`,
  summary:
    'lists the messages that failed maxDeliver times (or once, permanently), with their error.',
  synopsis: '[--json]',
  options: {
    json: { type: 'boolean', description: 'print JSON instead of one tab-separated line each' },
  },
  configLayers: true,
  notes:
    "With the NATS bus it reads JetStream; with the in-memory bus (embedded mode) it asks the running\nprocess, on the order service's operator port, as the operator workload.",
  examples: ['npm run orderly -- dead-letters list --config config/embedded.yaml'],
  version: orderlyVersion,
});

export const redriveDeadLettersCommand = defineCommand({
  name: `orderly dead-letters redrive`,
  summary: 'publishes dead letters again to their subject and removes them from the dead letters.',
  synopsis: '(--id <id> ... | --all)',
  options: {
    id: {
      type: 'string',
      multiple: true,
      value: 'id',
      description: 'a dead letter to redrive (its id from dead-letters list); repeatable',
    },
    all: { type: 'boolean', description: 'redrive every dead letter' },
  },
  configLayers: true,
  notes:
    'Without --id or --all nothing is redriven. A subscription that already applied an event ignores\nit again (its inbox).',
  examples: [
    'npm run orderly -- dead-letters redrive --id 17 --id 18',
    'npm run orderly -- dead-letters redrive --all --config config/embedded.yaml',
  ],
  version: orderlyVersion,
});

export const traceCommand = defineCommand({
  name: `orderly trace`,
  summary: "prints an order's timeline from the services' own data (read-only).",
  synopsis: '<orderId> [--logs <file> ...] [--json]',
  positionals: { name: '<orderId>', min: 1, max: 1 },
  options: {
    logs: {
      type: 'string',
      multiple: true,
      value: 'file',
      description:
        'JSON log lines: those about the order and those sharing its trace ids; repeatable',
    },
    json: { type: 'boolean', description: 'print the trace as JSON' },
  },
  configLayers: true,
  notes: 'Exit code 1 when the order is not in the order database.',
  examples: ['npm run orderly -- trace <orderId> --config config/embedded.yaml --logs orderly.log'],
  version: orderlyVersion,
});

export const mapCommand = defineCommand({
  name: `orderly map`,
  summary:
    "prints the service map of exported spans: calls, errors and p99 per edge, and an order's critical path.",
  synopsis: '--spans <file> [--spans <file> ...] [--order <orderId>] [--format text|mermaid]',
  options: {
    spans: {
      type: 'string',
      multiple: true,
      value: 'file',
      description:
        'OTLP JSON spans (telemetry.spanFile, or a Collector file exporter); repeatable (required)',
    },
    order: {
      type: 'string',
      value: 'orderId',
      description:
        "highlight the critical path of this order's slowest trace (spans with order.id)",
    },
    format: { type: 'string', value: 'text|mermaid', description: 'text (default) or mermaid' },
  },
  notes:
    'Edges: HTTP and RPC client → server, publish producer → [subject], consume [subject] → consumer,\n' +
    'SQL service → database. Spans come from telemetry.spanFile: ORDERLY_TELEMETRY__SPAN_FILE=spans.jsonl\n' +
    'npm start writes .orderly/spans.jsonl. Reads files only. Exit code 1 when a file is unreadable,\n' +
    'holds no spans, or no span names the --order.',
  examples: [
    'npm run orderly -- map --spans .orderly/spans.jsonl --order <orderId>',
    'npm run orderly -- map --spans .orderly/spans.jsonl --format mermaid > map.mmd',
  ],
  version: orderlyVersion,
});

const identityUrl = {
  type: 'string',
  value: 'url',
  description: "the identity service's RPC address (default: services.identity host and port)",
} as const;

export const rotateKeysCommand = defineCommand({
  name: `orderly keys rotate`,
  summary:
    "replaces the identity service's signing key: a new key signs from now on, the current one retires once its tokens have expired.",
  synopsis: '--yes [--url <url>] [--json]',
  options: {
    yes: { type: 'boolean', description: 'rotate (a rotation cannot be undone)' },
    url: identityUrl,
    json: { type: 'boolean', description: 'print the new and the retiring key as JSON' },
  },
  configLayers: true,
  notes: 'Without --yes nothing changes.',
  examples: [
    'npm run orderly -- keys rotate --yes --config config/embedded.yaml',
    'npm run orderly -- keys rotate --yes --url http://127.0.0.1:8085',
  ],
  version: orderlyVersion,
});

export const listKeysCommand = defineCommand({
  name: `orderly keys list`,
  summary: 'lists the published signing keys: the signing one first, then those retiring.',
  synopsis: '[--url <url>] [--json]',
  options: {
    url: identityUrl,
    json: { type: 'boolean', description: 'print JSON' },
  },
  configLayers: true,
  examples: ['npm run orderly -- keys list --config config/embedded.yaml'],
  version: orderlyVersion,
});

export const generateWorkloadKeysCommand = defineCommand({
  name: `orderly workload-keys generate`,
  summary:
    'writes one production Ed25519 key pair per workload, <name>.private.jwk and <name>.public.jwk.',
  synopsis: '<name> ... --out <dir>',
  positionals: { name: '<name>', min: 1 },
  options: {
    out: { type: 'string', value: 'dir', description: 'the folder to write them to (required)' },
  },
  notes: 'Never overwrites a file. docs/deploy.md shows the Secrets to create from them.',
  examples: [
    'npm run orderly -- workload-keys generate gateway order inventory payment notification identity operator --out keys',
  ],
  version: orderlyVersion,
});

export const getOrderCommand = defineCommand({
  name: `orderly orders get`,
  summary: "prints any customer's order, as the operator workload (GetOrderForOperator).",
  synopsis: '<orderId> [--url <url>] [--json]',
  positionals: { name: '<orderId>', min: 1, max: 1 },
  options: {
    url: {
      type: 'string',
      value: 'url',
      description: "the order service's RPC address (default: services.order host and port)",
    },
    json: { type: 'boolean', description: 'print the order as JSON' },
  },
  configLayers: true,
  examples: ['npm run orderly -- orders get <orderId> --config config/embedded.yaml'],
  version: orderlyVersion,
});

export const printConfigCommand = defineCommand({
  name: `orderly config print`,
  summary:
    "prints a service's effective configuration: each value, its source and whether it reloads; secrets redacted.",
  synopsis: '--service <name> [--json]',
  options: {
    service: { type: 'string', value: 'name', description: 'the service (required)' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  configLayers: true,
  notes: 'Starts nothing and opens no connection.',
  examples: [
    'npm run orderly -- config print --service order --config config/prod.yaml',
    'npm run orderly -- config print --service payment --set logLevel=debug --json',
  ],
  version: orderlyVersion,
});

export const checkConfigCommand = defineCommand({
  name: `orderly config check`,
  summary: 'validates configuration files against the platform and every service schema.',
  synopsis: '<file> ...',
  positionals: { name: '<file>', min: 1 },
  options: {},
  notes:
    "Each file alone over the defaults, without the environment (the checking machine's variables\nmust not hide a problem); no network. Exit code 1 when a file is invalid.",
  examples: ['npm run orderly -- config check config/prod.yaml'],
  version: orderlyVersion,
});

export const doctorCommand = defineCommand({
  name: `orderly doctor`,
  summary:
    "polls every service's debug endpoint for a while and reports what grows: handles by type, heap after GC, event-loop delay, outbox backlog, consumer lag, dead letters.",
  synopsis: '[--duration <time>] [--interval <time>] [--service <name> ...] [--watch] [--json]',
  options: {
    duration: {
      type: 'string',
      value: 'time',
      description: 'how long to poll, e.g. 20s, 1500ms, 2m (default: doctor.durationMs)',
    },
    interval: {
      type: 'string',
      value: 'time',
      description: 'time between two polls (default: doctor.intervalMs)',
    },
    service: {
      type: 'string',
      multiple: true,
      value: 'name',
      description: 'a service to poll (default: every service of the system); repeatable',
    },
    watch: {
      type: 'boolean',
      description: 'redraw the table after every poll, until Ctrl-C (or --duration)',
    },
    json: { type: 'boolean', description: 'print the report as JSON' },
  },
  configLayers: true,
  notes:
    "Asks GET /admin/debug/resources on each service's operator port (services.<svc>.host and\n" +
    'operatorPort) as the operator workload, the same for npm start and the distributed mode. A count\n' +
    'grows when its lowest value in the second half of the run is above its lowest in the first half by\n' +
    'more than its doctor.thresholds limit; heap is compared after a full GC at both ends.\n' +
    'Exit code 0 healthy, 1 something grows (or a service cannot be polled), 2 usage error.',
  examples: [
    'npm run orderly -- doctor',
    'npm run orderly -- doctor --duration 1m --interval 5s --service order --service payment',
    'npm run orderly -- doctor --watch',
  ],
  version: orderlyVersion,
});

const debugService = {
  type: 'string',
  value: 'name',
  description: 'the service whose process to look into (required)',
} as const;

export const heapSnapshotCommand = defineCommand({
  name: `orderly debug heap-snapshot`,
  summary:
    "writes a heap snapshot of a service's process, a .heapsnapshot file that Chrome DevTools opens (Memory → Load).",
  synopsis: '--service <name> [--out <file>]',
  options: {
    service: debugService,
    out: {
      type: 'string',
      value: 'file',
      description: 'where to write it (default: <service>-<pid>-<time>.heapsnapshot here)',
    },
  },
  configLayers: true,
  notes:
    "Asks POST /admin/debug/heap-snapshot on the service's operator port as the operator workload; the\n" +
    'process pauses while the snapshot is taken. A snapshot holds whatever the heap holds, secrets\n' +
    'included: keep it like a credential.',
  examples: ['npm run orderly -- debug heap-snapshot --service order'],
  version: orderlyVersion,
});

export const cpuProfileCommand = defineCommand({
  name: `orderly debug cpu-profile`,
  summary:
    "profiles a service's process for some seconds and writes a .cpuprofile file that Chrome DevTools opens (Performance → Load profile).",
  synopsis: '--service <name> [--seconds <n>] [--out <file>]',
  options: {
    service: debugService,
    seconds: {
      type: 'string',
      value: 'n',
      description:
        'how long to profile (default debug.cpuProfileDefaultSeconds, at most debug.cpuProfileMaxSeconds)',
    },
    out: {
      type: 'string',
      value: 'file',
      description: 'where to write it (default: <service>-<pid>-<time>.cpuprofile here)',
    },
  },
  configLayers: true,
  notes:
    "Asks POST /admin/debug/cpu-profile on the service's operator port as the operator workload. One\n" +
    'profile at a time per process (409 DEBUG_PROFILE_IN_PROGRESS otherwise).',
  examples: ['npm run orderly -- debug cpu-profile --service gateway --seconds 20'],
  version: orderlyVersion,
});

const openApiSources = {
  url: {
    type: 'string',
    value: 'url',
    description:
      "the gateway's public address, where /openapi/v<n>.json is read (default: services.gateway host and port)",
  },
  'openapi-from': {
    type: 'string',
    value: 'file|url',
    description: 'the older OpenAPI document instead (a JSON file or an http(s) URL)',
  },
  'openapi-to': {
    type: 'string',
    value: 'file|url',
    description: 'the newer OpenAPI document instead (with --openapi-from)',
  },
} as const;

export const contractsDiffCommand = defineCommand({
  name: `orderly contracts diff`,
  summary:
    'prints what changed from one contract version to another: the public OpenAPI operations and fields, and the protobuf messages, each marked breaking or not.',
  synopsis:
    '--from <n> --to <n> [--url <url> | --openapi-from <file|url> --openapi-to <file|url>] [--json]',
  options: {
    from: { type: 'string', value: 'n', description: 'the older version, e.g. 1 (required)' },
    to: { type: 'string', value: 'n', description: 'the newer version, e.g. 2 (required)' },
    ...openApiSources,
    json: { type: 'boolean', description: 'print { openapi, proto } as JSON' },
  },
  configLayers: true,
  notes:
    "OpenAPI: the gateway's per-version documents compared by diffOpenApi (@orderly/platform), the\n" +
    'engine behind GET /openapi/contract-diff. Protobuf: <producer>.v<from> against <producer>.v<to> for\n' +
    'every producer that has both, field by field (by number) from the descriptors `buf build` makes.\n' +
    'Exit code 0 when printed (breaking or not), 1 when a side cannot be read, 2 usage error.',
  examples: [
    'npm run orderly -- contracts diff --from 1 --to 2',
    'npm run orderly -- contracts diff --from 1 --to 2 --json',
  ],
  version: orderlyVersion,
});

export const contractsImpactCommand = defineCommand({
  name: `orderly contracts impact`,
  summary:
    'prints which services and gateway routes produce and consume each event and RPC, as a Mermaid graph and as text, and which of them a diff would break.',
  synopsis:
    '[--diff <from>:<to>] [--url <url> | --openapi-from <file|url> --openapi-to <file|url>] [--json]',
  options: {
    diff: {
      type: 'string',
      value: 'from:to',
      description: 'the versions whose breaking changes to trace, e.g. 1:2',
    },
    ...openApiSources,
    json: { type: 'boolean', description: 'print the graph and what breaks as JSON' },
  },
  configLayers: true,
  notes:
    'Read from the code and the contracts, starting nothing: the services of @orderly/system; each\n' +
    "service's imports of other producers' event messages (consumers) and its package.json\n" +
    'orderly.consumes declaration; the RPCs of the buf descriptors with services.<svc>.rpcCallers\n' +
    "(callers); the gateway's OpenAPI operations, tied to the RPC of the same name. Exit code 0, 1 when\n" +
    'a source cannot be read, 2 usage error.',
  examples: [
    'npm run orderly -- contracts impact',
    'npm run orderly -- contracts impact --diff 1:2',
  ],
  version: orderlyVersion,
});

export const contractsCallersCommand = defineCommand({
  name: `orderly contracts callers`,
  summary:
    'lists who still calls a deprecated or retired version or route of the public API: caller, version, route, calls, first and last seen.',
  synopsis: '[--url <url>] [--json]',
  options: {
    url: {
      type: 'string',
      value: 'url',
      description: "the gateway's operator port (default: services.gateway host and operatorPort)",
    },
    json: { type: 'boolean', description: 'print the answer as JSON' },
  },
  configLayers: true,
  notes:
    "Asks GET /admin/contracts/callers on the gateway's operator port as the operator workload.\n" +
    'Exit code 0 when no caller remains on a deprecated or retired version or route\n' +
    '(services.gateway.contract.routes), 1 when some do, 2 usage\n' +
    'error, 3 when the gateway cannot be asked.',
  examples: ['npm run orderly -- contracts callers', 'npm run orderly -- contracts callers --json'],
  version: orderlyVersion,
});

export const orderlyProgram: Program = {
  name: 'orderly',
  summary:
    "the operator's command line: dead letters, order timelines, signing keys, orders, configuration, leak patrol, contracts.",
  version: orderlyVersion,
  commands: {
    'dead-letters': {
      list: {
        spec: listDeadLettersCommand,
        run: async (argv, io) =>
          (await import('./dead-letters-command.js')).listDeadLetters(argv, io),
      },
      redrive: {
        spec: redriveDeadLettersCommand,
        run: async (argv, io) =>
          (await import('./dead-letters-command.js')).redriveDeadLetters(argv, io),
      },
    },
    doctor: {
      spec: doctorCommand,
      run: async (argv, io) => (await import('./doctor-command.js')).runDoctor(argv, io),
    },
    debug: {
      'heap-snapshot': {
        spec: heapSnapshotCommand,
        run: async (argv, io) =>
          (await import('./debug-command.js')).downloadHeapSnapshot(argv, io),
      },
      'cpu-profile': {
        spec: cpuProfileCommand,
        run: async (argv, io) => (await import('./debug-command.js')).downloadCpuProfile(argv, io),
      },
    },
    trace: {
      spec: traceCommand,
      run: async (argv, io) => (await import('./trace-command.js')).runTraceCommand(argv, io),
    },
    map: {
      spec: mapCommand,
      run: async (argv, io) => (await import('./map-command.js')).runMapCommand(argv, io),
    },
    keys: {
      rotate: {
        spec: rotateKeysCommand,
        run: async (argv, io) => (await import('./keys-command.js')).rotateKeys(argv, io),
      },
      list: {
        spec: listKeysCommand,
        run: async (argv, io) => (await import('./keys-command.js')).listKeys(argv, io),
      },
    },
    'workload-keys': {
      generate: {
        spec: generateWorkloadKeysCommand,
        run: async (argv, io) => (await import('./keys-command.js')).generateWorkloadKeys(argv, io),
      },
    },
    orders: {
      get: {
        spec: getOrderCommand,
        run: async (argv, io) =>
          (await import('./orders-command.js')).runOrdersCommand('get', argv, io),
      },
    },
    contracts: {
      diff: {
        spec: contractsDiffCommand,
        run: async (argv, io) =>
          (await import('./contracts-command.js')).runContractsDiff(argv, io),
      },
      impact: {
        spec: contractsImpactCommand,
        run: async (argv, io) =>
          (await import('./contracts-command.js')).runContractsImpact(argv, io),
      },
      callers: {
        spec: contractsCallersCommand,
        run: async (argv, io) =>
          (await import('./contracts-command.js')).runContractsCallers(argv, io),
      },
    },
    config: {
      print: {
        spec: printConfigCommand,
        run: async (argv, io) =>
          (await import('./config-commands.js')).printConfig(argv, process.env, io),
      },
      check: {
        spec: checkConfigCommand,
        run: async (argv, io) => (await import('./config-commands.js')).checkConfig(argv, io),
      },
    },
  },
};
