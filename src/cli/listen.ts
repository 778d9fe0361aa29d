// udpkit listen: print every datagram with its sender.
import { createSocket } from '../socket';
import type { Datagram } from '../socket';
import { endpoint, err, familyOf, onInterrupt, parse, port, UsageError, expectPositionals } from './common';

export const help = `Usage: udpkit listen [--port N] [--host H] [--format text|hex|json]

Binds a UDP socket and prints each datagram it receives with its sender,
one line per datagram, on stdout. The bound address goes to stderr first:
  listening on 127.0.0.1:41234
Ctrl-C stops it and prints how many datagrams were received (stderr).

Options:
  -p, --port N       port to bind (default 0: any free port)
  -H, --host H       address to bind (default 127.0.0.1; an IPv6 literal binds udp6)
  -f, --format F     text (default): "127.0.0.1:5000 5 B hello", non-printable
                     bytes escaped as \\xNN
                     hex:  "127.0.0.1:5000 5 B 68656c6c6f"
                     json: one object per line: {"address","port","family","size",
                     "text"} when the payload is valid UTF-8, else "base64"
  -h, --help         show this help
`;

const FORMATS = ['text', 'hex', 'json'] as const;
type Format = (typeof FORMATS)[number];

function printable(data: Buffer): string {
  const s = data.toString('utf8');
  const valid = Buffer.from(s, 'utf8').equals(data);
  if (valid) {
    // eslint-disable-next-line no-control-regex
    return s.replace(/[\x00-\x1f\x7f\\]/g, (c) => (c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  }
  let r = '';
  for (const b of data) r += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : b === 0x5c ? '\\\\' : `\\x${b.toString(16).padStart(2, '0')}`;
  return r;
}

export function format(d: Datagram, f: Format): string {
  const from = endpoint(d.address, d.port);
  if (f === 'hex') return `${from} ${d.size} B ${d.data.toString('hex')}`;
  if (f === 'json') {
    const text = d.data.toString('utf8');
    const payload = Buffer.from(text, 'utf8').equals(d.data) ? { text } : { base64: d.data.toString('base64') };
    return JSON.stringify({ address: d.address, port: d.port, family: d.family, size: d.size, ...payload });
  }
  return `${from} ${d.size} B ${printable(d.data)}`;
}

export function run(args: string[]): Promise<number> {
  const { values, positionals } = parse('listen', args, {
    port: { type: 'string', short: 'p' },
    host: { type: 'string', short: 'H' },
    format: { type: 'string', short: 'f' },
  });
  if (values.help) {
    process.stdout.write(help);
    return Promise.resolve(0);
  }
  expectPositionals('listen', positionals, 0, 0, 'udpkit listen [--port N] [--host H] [--format text|hex|json]');
  const p = port('listen', '--port', values.port, 0);
  const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
  const fmt = (values.format ?? 'text') as string;
  if (!(FORMATS as readonly string[]).includes(fmt)) throw new UsageError(`listen: --format must be text, hex or json, got '${fmt}'`);

  return new Promise<number>((resolve) => {
    const socket = createSocket({ type: familyOf(host) });
    let count = 0;
    let bytes = 0;
    const senders = new Set<string>();
    socket.on('messages', (batch: Datagram[]) => {
      let chunk = '';
      for (const d of batch) {
        count++;
        bytes += d.size;
        senders.add(endpoint(d.address, d.port));
        chunk += format(d, fmt as Format) + '\n';
      }
      process.stdout.write(chunk);
    });
    socket.on('error', (e: Error) => {
      err(`udpkit: listen: ${e.message}`);
      socket.close();
      resolve(1);
    });
    socket.bind(p, host, () => {
      const a = socket.address();
      err(`listening on ${endpoint(a.address, a.port)}`);
    });
    onInterrupt(() => {
      err(`\nreceived ${count} datagram${count === 1 ? '' : 's'} (${bytes} bytes) from ${senders.size} sender${senders.size === 1 ? '' : 's'}`);
      socket.close(() => resolve(0));
    });
  });
}
