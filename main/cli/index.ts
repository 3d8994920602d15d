// The `maskroom` CLI. Each command group lives in commands/<name>.ts and exports `register(program)`;
// add yours to COMMANDS below. Errors end the process with one line on stderr and a nonzero exit code.
import { Command, CommanderError } from 'commander';
import { formatCliError } from './errors.js';
import { register as registerSegment } from './commands/segment.js';
import { register as registerProject } from './commands/project.js';
import { register as registerCoco } from './commands/coco.js';
import { register as registerAuto } from './commands/auto.js';
import { register as registerServe } from '../server/serve.js';

const COMMANDS: ((program: Command) => void)[] = [
  registerSegment,
  registerProject,
  registerCoco,
  registerAuto,
  registerServe,
];

export function buildProgram(): Command {
  const program = new Command('maskroom')
    .description('Label image datasets with Segment Anything.')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError(false)
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and --version exit through here with code 0
      return err.exitCode;
    }
    process.stderr.write(`maskroom: ${formatCliError(err)}\n`);
    return 1;
  }
}
