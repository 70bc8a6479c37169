import { processIo, runProgram } from './command-line.js';
import { orderlyProgram } from './commands.js';

/**
 * `orderly`, the operator's command line: tools/cli/src/commands.ts declares its commands and
 * `orderly --help` lists them. An error no command expected is one line on stderr, exit code 1.
 */
runProgram(orderlyProgram, process.argv.slice(2), processIo).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`orderly: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
