import { parseCommand, usageFailure, type CommandIo } from './command-line.js';
import { mapCommand } from './commands.js';
import { formatMapMermaid, formatMapText } from './service-map-format.js';
import { buildServiceMap, edgesOnPath, orderCriticalPath } from './service-map.js';
import { SpanFileError, readSpanFiles } from './span-file.js';

/**
 * `orderly map --spans <file> [--order <id>] [--format text|mermaid]`: the service map of exported
 * spans (telemetry.spanFile, or a Collector's file exporter), and with `--order` the critical path
 * of that order's slowest trace, highlighted on the map. Reads files only; starts nothing.
 */
export function runMapCommand(argv: readonly string[], io: CommandIo): number {
  const args = parseCommand(mapCommand, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const { values } = args;
  const files = values.spans ?? [];
  if (files.length === 0) return usageFailure(mapCommand, 'missing --spans <file>', io);
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'mermaid')
    return usageFailure(mapCommand, `--format must be text or mermaid, not '${format}'`, io);

  let spans;
  try {
    spans = readSpanFiles(files);
  } catch (error) {
    if (!(error instanceof SpanFileError)) throw error;
    io.err(`${mapCommand.name}: ${error.message}\n`);
    return 1;
  }
  if (spans.length === 0) {
    io.err(
      `${mapCommand.name}: no spans in ${files.join(', ')} (is telemetry.spanFile set, and were traces sampled?)\n`,
    );
    return 1;
  }
  const map = buildServiceMap(spans);
  const orderId = values.order;
  const paths = orderId === undefined ? undefined : orderCriticalPath(spans, orderId);
  if (orderId !== undefined && !paths) {
    io.err(`${mapCommand.name}: no span names order ${orderId} (attribute order.id)\n`);
    return 1;
  }
  const view = {
    map,
    orderId,
    paths,
    highlighted: paths ? edgesOnPath(map, paths.slowest) : new Set<string>(),
  };
  io.out(format === 'mermaid' ? formatMapMermaid(view) : formatMapText(view));
  return 0;
}
