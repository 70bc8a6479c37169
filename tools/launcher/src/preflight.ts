import { connect } from 'node:net';

/** One dependency distributed mode needs, as the configuration names it. */
export interface Dependency {
  name: 'PostgreSQL' | 'NATS JetStream';
  /** The configuration key it comes from, e.g. `postgres.url`. */
  key: string;
  host: string;
  port: number;
}

/** What `npm run start:distributed` needs before it starts a service: PostgreSQL and NATS JetStream. */
export function dependenciesOf(config: {
  postgres: { url: string };
  bus: { natsServers: string };
}): Dependency[] {
  const postgres = new URL(config.postgres.url);
  const nats = config.bus.natsServers
    .split(',')
    .map((server) => server.trim())
    .filter((server) => server !== '')
    .map((server) => new URL(server));
  return [
    {
      name: 'PostgreSQL',
      key: 'postgres.url',
      host: postgres.hostname,
      port: Number(postgres.port || 5432),
    },
    ...nats.map((server) => ({
      name: 'NATS JetStream' as const,
      key: 'bus.natsServers',
      host: server.hostname,
      port: Number(server.port || 4222),
    })),
  ];
}

/** Resolves `undefined` when a TCP connection opens within `timeoutMs`, else why it did not. */
export function tcpProblem(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ECONNREFUSED' ? 'connection refused' : (err.code ?? err.message)),
    );
  });
}

function howToStart(d: Dependency): string[] {
  return d.name === 'PostgreSQL'
    ? [
        'Debian/Ubuntu: sudo apt-get install postgresql (started by systemd; without systemd:',
        '               sudo pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)',
        'macOS:         brew install postgresql@15 && brew services start postgresql@15',
      ]
    : [
        `Debian/Ubuntu: sudo apt-get install nats-server && nats-server -a ${d.host} -p ${d.port} -js -sd /tmp/nats-jetstream`,
        `macOS:         brew install nats-server && nats-server -js${d.port === 4222 ? '' : ` -p ${d.port}`}`,
      ];
}

/**
 * Checks that every dependency accepts a TCP connection; returns a message for a person (what is
 * missing, where, and how to start it) or `undefined` when all are reachable.
 */
export async function preflight(
  dependencies: Dependency[],
  timeoutMs = 1000,
): Promise<string | undefined> {
  const problems = await Promise.all(
    dependencies.map(async (dependency) => ({
      dependency,
      problem: await tcpProblem(dependency.host, dependency.port, timeoutMs),
    })),
  );
  const missing = problems.filter((p) => p.problem !== undefined);
  if (missing.length === 0) return undefined;
  const lines = missing.flatMap(({ dependency: d, problem }) => [
    `  - ${d.name} at ${d.host}:${d.port} (${d.key}): ${problem}`,
    ...howToStart(d).map((line) => `      ${line}`),
  ]);
  return [
    'npm run start:distributed needs PostgreSQL and NATS JetStream; not reachable:',
    ...lines,
    'Start what is missing (README.md, "Distributed mode"), or point the configuration at running ones',
    '(ORDERLY_POSTGRES__URL, ORDERLY_BUS__NATS_SERVERS or --config), then run it again.',
  ].join('\n');
}
