import { Command, CommanderError, Option } from 'commander';
import { registerJobCommands } from './commands/jobs';
import { registerOpsCommands } from './commands/ops';
import { registerSubmit } from './commands/submit';
import { registerWatch } from './commands/watch';
import { CliContext, createContext, DEFAULT_URL, GlobalOptions } from './context';
import { CliError, EXIT, ExitCode } from './exit-codes';
import { durationOption } from './parse';

// `durable-jobs`: the HTTP API from a terminal or a script. Each command sets the exit status
// (see exit-codes.ts); --json prints the API's answers as JSON on stdout.

const EXIT_HELP = `
Environment:
  DURABLE_JOBS_URL       API base URL (default ${DEFAULT_URL})
  DURABLE_JOBS_API_KEY   API key; on this machine the key \`npm start\` keeps in .data/dev-api-key is used when unset

Exit status:
  0 ok / job completed      3 job failed       4 job cancelled    5 job completed with errors
  2 bad arguments           6 not found        7 key refused      8 request rejected (400/409/422)
  9 API unreachable or 5xx  10 --timeout hit   1 unexpected       130 interrupted`;

export function buildProgram(done: (code: ExitCode) => void): Command {
  const program = new Command('durable-jobs')
    .description('Start, watch and steer durable-jobs jobs over the HTTP API')
    .option('--url <url>', 'API base URL (env DURABLE_JOBS_URL)')
    .option('--api-key <key>', 'API key (env DURABLE_JOBS_API_KEY)')
    .option('--json', 'print JSON for scripts')
    .addOption(new Option('--request-timeout <duration>', 'per HTTP request').argParser(durationOption).default(30_000, '30s'))
    .addHelpText('after', EXIT_HELP)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const context = (): CliContext => createContext(program.opts<GlobalOptions>());
  registerSubmit(program, context, done);
  registerWatch(program, context, done);
  registerJobCommands(program, context, done);
  registerOpsCommands(program, context, done);
  for (const cmd of program.commands) cmd.exitOverride();
  for (const cmd of program.commands.flatMap((c) => c.commands)) cmd.exitOverride();
  return program;
}

export async function runCli(argv: string[]): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and --version are not errors; every other parse error is a usage error.
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const json = process.argv.includes('--json');
    if (e instanceof CliError) {
      if (json)
        process.stdout.write(
          `${JSON.stringify({ error: e.message, exitCode: e.exitCode, ...(e.body ? { response: e.body } : {}) }, null, 2)}\n`,
        );
      process.stderr.write(`durable-jobs: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`durable-jobs: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.error;
  }
}

/** Runs the command line of this process and sets its exit status. */
export function main(): void {
  runCli(process.argv).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) main();
