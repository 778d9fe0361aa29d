// udpkit send: send a message, or each line of stdin, as datagrams.
import * as readline from 'node:readline';
import { createSocket } from '../socket';
import { err, expectPositionals, familyOf, parse, port, UsageError } from './common';

export const help = `Usage: udpkit send HOST PORT [MESSAGE]

Sends MESSAGE as one datagram to HOST:PORT, or, without MESSAGE, each line
of stdin (without its line ending) as one datagram, then exits.

Options:
  -h, --help   show this help

Examples:
  udpkit send 127.0.0.1 41234 hello
  printf 'a\\nb\\n' | udpkit send localhost 41234
`;

export function run(args: string[]): Promise<number> {
  const { values, positionals } = parse('send', args, {});
  if (values.help) {
    process.stdout.write(help);
    return Promise.resolve(0);
  }
  expectPositionals('send', positionals, 2, 3, 'udpkit send HOST PORT [MESSAGE]');
  const [host, rawPort, message] = positionals;
  if (host === '') throw new UsageError('send: HOST must not be empty');
  const p = port('send', 'PORT', rawPort, 0);
  if (p === 0) throw new UsageError('send: PORT must be from 1 to 65535');

  const socket = createSocket({ type: familyOf(host) });
  let failed = false;
  const sendOne = (data: string): Promise<void> =>
    new Promise<void>((resolve) => {
      socket.send(data, p, host, (e: Error | null) => {
        if (e) {
          if (!failed) err(`udpkit: send: ${e.message}`);
          failed = true;
        }
        resolve();
      });
    });
  socket.on('error', (e: Error) => {
    if (!failed) err(`udpkit: send: ${e.message}`);
    failed = true;
  });
  const finish = (): Promise<number> =>
    new Promise<number>((resolve) => socket.close(() => resolve(failed ? 1 : 0)));

  if (message !== undefined) return sendOne(message).then(finish);
  return (async () => {
    const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
    // One at a time: concurrent sends each resolve HOST on their own and
    // could overtake each other; lines must go out in order.
    for await (const line of rl) await sendOne(line);
    return finish();
  })();
}
