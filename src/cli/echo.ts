// udpkit echo: send every datagram back to its sender.
import { createSocket } from '../socket';
import type { Datagram } from '../socket';
import { endpoint, err, expectPositionals, familyOf, onInterrupt, out, parse, port } from './common';

export const help = `Usage: udpkit echo [--port N] [--host H]

An echo server: every datagram received is sent back to its sender
unchanged. Prints the address it listens on (stdout):
  echo server listening on 127.0.0.1:41234
Ctrl-C stops it and prints how many datagrams it echoed (stderr).

Options:
  -p, --port N   port to bind (default 0: any free port)
  -H, --host H   address to bind (default 127.0.0.1; an IPv6 literal binds udp6)
  -h, --help     show this help
`;

export function run(args: string[]): Promise<number> {
  const { values, positionals } = parse('echo', args, {
    port: { type: 'string', short: 'p' },
    host: { type: 'string', short: 'H' },
  });
  if (values.help) {
    process.stdout.write(help);
    return Promise.resolve(0);
  }
  expectPositionals('echo', positionals, 0, 0, 'udpkit echo [--port N] [--host H]');
  const p = port('echo', '--port', values.port, 0);
  const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
  return new Promise<number>((resolve) => {
    const socket = createSocket({ type: familyOf(host) });
    let echoed = 0;
    socket.on('messages', (batch: Datagram[]) => {
      // One sendmmsg for the whole batch.
      socket.sendMany(
        batch.map((d) => ({ data: d.data, port: d.port, address: d.address })),
        (e: Error | null, sent: number) => {
          echoed += sent;
          if (e) err(`udpkit: echo: ${e.message}`);
        },
      );
    });
    socket.on('error', (e: Error) => {
      err(`udpkit: echo: ${e.message}`);
      socket.close();
      resolve(1);
    });
    socket.bind(p, host, () => {
      const a = socket.address();
      out(`echo server listening on ${endpoint(a.address, a.port)}`);
    });
    onInterrupt(() => {
      err(`\nechoed ${echoed} datagram${echoed === 1 ? '' : 's'}`);
      socket.close(() => resolve(0));
    });
  });
}
