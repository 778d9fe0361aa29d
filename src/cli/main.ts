// The udpkit command: dispatches to listen, send, echo, ping and bench.
import { UsageError } from './common';
import * as listen from './listen';
import * as send from './send';
import * as echo from './echo';
import * as ping from './ping';
import * as bench from './bench';

interface Command {
  help: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, Command> = { listen, send, echo, ping, bench };

export const help = `Usage: udpkit <command> [options]

UDP tools on udpkit's batched datapath (loopback-friendly defaults).

Commands:
  listen [--port N] [--host H] [--format text|hex|json]
                          print each datagram received, with its sender
  send HOST PORT [MESSAGE]
                          send MESSAGE, or each line of stdin, as datagrams
  echo [--port N] [--host H]
                          echo server: send every datagram back
  ping HOST PORT [--count N] [--interval MS] [--size B]
                          round trips against an echo server, with statistics
  bench [--quick] [--json FILE]
                          udpkit vs node:dgram benchmark

Run 'udpkit <command> --help' for a command's options.
Exit codes: 0 success, 1 failure, 2 bad arguments.
`;

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require('../../package.json') as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError("missing command (see 'udpkit --help')");
  if (name === '--help' || name === '-h' || name === 'help') {
    const sub = rest[0] !== undefined && Object.prototype.hasOwnProperty.call(commands, rest[0]) ? commands[rest[0]] : undefined;
    process.stdout.write(sub ? sub.help : help);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const cmd = Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : undefined;
  if (!cmd) throw new UsageError(`unknown command '${name}' (see 'udpkit --help')`);
  return cmd.run(rest);
}

/** Runs the command line and sets the exit code; used by bin/udpkit.js. */
export function cli(argv: string[] = process.argv.slice(2)): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (e instanceof UsageError) {
        process.stderr.write(`udpkit: ${e.message}\n`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`udpkit: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      }
    },
  );
}

if (require.main === module) cli();
