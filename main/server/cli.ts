// Entry of web mode without the rest of the CLI: `node dist/main/server/cli.js --port 0 --project <dir>`.
import { Command, CommanderError } from 'commander';
import { formatCliError } from '../cli/errors.js';
import { runServe, withServeOptions, type ServeOptions } from './serve.js';

const program = withServeOptions(
  new Command('maskroom-serve').description('Maskroom web mode'),
).exitOverride();
try {
  program.parse(process.argv);
  await runServe(program.opts<ServeOptions>());
  process.exit(0);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(`maskroom: ${formatCliError(e)}\n`);
  process.exit(1);
}
